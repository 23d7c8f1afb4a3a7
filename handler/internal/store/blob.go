package store

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
)

// PutBlob writes data to container/name, replacing what was there. The
// container is created on first use.
func (s *Store) PutBlob(ctx context.Context, container, name string, data []byte) error {
	put := func() error {
		_, err := s.blobs.UploadBuffer(ctx, container, name, data, nil)
		return err
	}
	err := put()
	if bloberror.HasCode(err, bloberror.ContainerNotFound) {
		if _, cerr := s.blobs.CreateContainer(ctx, container, nil); cerr != nil && !bloberror.HasCode(cerr, bloberror.ContainerAlreadyExists) {
			return fmt.Errorf("create container %s: %w", container, translate(cerr))
		}
		err = put()
	}
	return translate(err)
}

// GetBlob reads container/name; a missing blob is NotFound.
func (s *Store) GetBlob(ctx context.Context, container, name string) ([]byte, error) {
	resp, err := s.blobs.DownloadStream(ctx, container, name, nil)
	if err != nil {
		return nil, translate(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, resp.Body); err != nil {
		return nil, translate(err)
	}
	return buf.Bytes(), nil
}

// DeleteBlob removes container/name with its snapshots; a blob already gone
// is not an error.
func (s *Store) DeleteBlob(ctx context.Context, container, name string) error {
	del := azblob.DeleteSnapshotsOptionTypeInclude
	_, err := s.blobs.DeleteBlob(ctx, container, name, &azblob.DeleteBlobOptions{DeleteSnapshots: &del})
	if bloberror.HasCode(err, bloberror.BlobNotFound, bloberror.ContainerNotFound) {
		return nil
	}
	return translate(err)
}

// ListBlobs returns the names of the blobs in container under prefix.
func (s *Store) ListBlobs(ctx context.Context, containerName, prefix string) ([]string, error) {
	var names []string
	err := s.eachBlob(ctx, containerName, prefix, func(b *container.BlobItem) {
		names = append(names, *b.Name)
	})
	return names, err
}

// BlobsBefore returns the names of the blobs in container last modified
// before t.
func (s *Store) BlobsBefore(ctx context.Context, containerName string, t time.Time) ([]string, error) {
	var names []string
	err := s.eachBlob(ctx, containerName, "", func(b *container.BlobItem) {
		if b.Properties != nil && b.Properties.LastModified != nil && b.Properties.LastModified.Before(t) {
			names = append(names, *b.Name)
		}
	})
	return names, err
}

// eachBlob calls fn for every blob in container under prefix; a missing
// container has none.
func (s *Store) eachBlob(ctx context.Context, name, prefix string, fn func(*container.BlobItem)) error {
	pager := s.blobs.NewListBlobsFlatPager(name, &azblob.ListBlobsFlatOptions{Prefix: &prefix})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if bloberror.HasCode(err, bloberror.ContainerNotFound) {
			return nil
		}
		if err != nil {
			return translate(err)
		}
		for _, b := range page.Segment.BlobItems {
			fn(b)
		}
	}
	return nil
}

// DeleteBlobs removes every blob in container under prefix and returns how
// many it removed.
func (s *Store) DeleteBlobs(ctx context.Context, container, prefix string) (int, error) {
	names, err := s.ListBlobs(ctx, container, prefix)
	if err != nil {
		return 0, err
	}
	for i, n := range names {
		if err := s.DeleteBlob(ctx, container, n); err != nil {
			return i, err
		}
	}
	return len(names), nil
}
