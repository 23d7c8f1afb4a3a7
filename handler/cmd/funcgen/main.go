// Command funcgen writes host.json and every function.json from the Go
// function table: `make functions` for the repository (Service Bus triggers),
// `make stage` for a local app root (Storage queue triggers on Azurite).
package main

import (
	"flag"
	"fmt"
	"os"

	"mailmerge/handler/internal/functions"
)

func main() {
	root := flag.String("root", ".", "app root to write host.json into")
	dir := flag.String("dir", "functions", "folder under root for the function folders (\"\" for a staged app root)")
	transport := flag.String("transport", string(functions.ServiceBus), "queue trigger: servicebus or storage")
	flag.Parse()
	if err := functions.Write(*root, *dir, functions.Transport(*transport)); err != nil {
		fmt.Fprintln(os.Stderr, "funcgen:", err)
		os.Exit(1)
	}
}
