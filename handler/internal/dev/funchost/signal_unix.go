//go:build unix

package funchost

import "syscall"

const terminate = syscall.SIGTERM
