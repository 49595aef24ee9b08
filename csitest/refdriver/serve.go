package refdriver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
)

// Listen opens the driver's Unix socket: unix:///path or a plain path. A
// stale socket file is removed first.
func Listen(endpoint string) (net.Listener, error) {
	path := strings.TrimPrefix(strings.TrimPrefix(endpoint, "unix://"), "unix:")
	if path == "" || !strings.HasPrefix(path, "/") {
		return nil, fmt.Errorf("endpoint %q: want unix:///absolute/path", endpoint)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	return net.Listen("unix", path)
}

// Serve serves the driver's three services on l until ctx is done.
func Serve(ctx context.Context, l net.Listener, s *Server) error {
	g := grpc.NewServer()
	csi.RegisterIdentityServer(g, s)
	csi.RegisterControllerServer(g, s)
	csi.RegisterNodeServer(g, s)
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			g.GracefulStop()
		case <-done:
		}
	}()
	err := g.Serve(l)
	close(done)
	if errors.Is(err, grpc.ErrServerStopped) {
		err = nil
	}
	return err
}
