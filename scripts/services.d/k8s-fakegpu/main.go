// Command k8s-fakegpu is the fake-GPU device plugin of the one-node test
// cluster (scripts/services.d/k8s.sh). It advertises the character devices
// given as arguments (/dev/k8s-fakegpu0, /dev/k8s-fakegpu1) as an extended
// resource (nvidia.com/gpu) through the kubelet's device-plugin API
// (k8s.io/kubelet/pkg/apis/deviceplugin/v1beta1), so a pod asking for GPUs
// goes through the real path: the scheduler counts the node's allocatable,
// the kubelet picks devices, asks this plugin to Allocate them and puts
// exactly those device nodes into the container (devices cgroup included).
// Patching node status instead would skip all of that.
//
// Why it is written as it is:
//   - The kubelet listens on /var/lib/kubelet/device-plugins/kubelet.sock
//     whatever its --root-dir, and empties that directory when it starts: a
//     restarted kubelet forgets every plugin, so this one watches its own
//     socket and kubelet.sock and registers again when either changes (the
//     NVIDIA plugin watches with inotify; polling needs no extra module).
//   - Allocate answers like the NVIDIA plugin's default "envvar" strategy:
//     NVIDIA_VISIBLE_DEVICES=<ids> plus the device nodes, host path =
//     container path, so a test can check the two agree.
//   - Opening a fake device fails with ENXIO (no driver): tests only look.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	pluginapi "k8s.io/kubelet/pkg/apis/deviceplugin/v1beta1"
)

const socketName = "benchyard-fakegpu.sock"

// pollEvery bounds how long the node shows no GPUs after a kubelet restart.
const pollEvery = 500 * time.Millisecond

// lastErr is the last reason to register again that was logged.
var lastErr string

type plugin struct {
	pluginapi.UnimplementedDevicePluginServer
	ids []string // device names; each is /dev/<id> on the host and in the container
}

func (p *plugin) GetDevicePluginOptions(context.Context, *pluginapi.Empty) (*pluginapi.DevicePluginOptions, error) {
	return &pluginapi.DevicePluginOptions{}, nil
}

// ListAndWatch sends the devices once: fake devices never turn unhealthy.
// The stream stays open until the kubelet goes or the server stops, as the
// kubelet takes a closed stream for a plugin that went away.
func (p *plugin) ListAndWatch(_ *pluginapi.Empty, s pluginapi.DevicePlugin_ListAndWatchServer) error {
	devs := make([]*pluginapi.Device, 0, len(p.ids))
	for _, id := range p.ids {
		devs = append(devs, &pluginapi.Device{ID: id, Health: pluginapi.Healthy})
	}
	if err := s.Send(&pluginapi.ListAndWatchResponse{Devices: devs}); err != nil {
		return err
	}
	<-s.Context().Done()
	return nil
}

func (p *plugin) Allocate(_ context.Context, req *pluginapi.AllocateRequest) (*pluginapi.AllocateResponse, error) {
	resp := &pluginapi.AllocateResponse{}
	for _, c := range req.ContainerRequests {
		cr := &pluginapi.ContainerAllocateResponse{
			Envs: map[string]string{"NVIDIA_VISIBLE_DEVICES": strings.Join(c.DevicesIds, ",")},
		}
		for _, id := range c.DevicesIds {
			if !contains(p.ids, id) {
				return nil, fmt.Errorf("unknown device %q (have %v)", id, p.ids)
			}
			dev := "/dev/" + id
			cr.Devices = append(cr.Devices, &pluginapi.DeviceSpec{HostPath: dev, ContainerPath: dev, Permissions: "rw"})
		}
		resp.ContainerResponses = append(resp.ContainerResponses, cr)
	}
	log.Printf("allocate %v", req.ContainerRequests)
	return resp, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// serve runs one registration: listen, register, then wait until the
// kubelet's directory shows it has forgotten us (or ctx ends).
func serve(ctx context.Context, p *plugin, dir, resource string) error {
	sock := filepath.Join(dir, socketName)
	kubeletSock := filepath.Join(dir, filepath.Base(pluginapi.KubeletSocket))
	_ = os.Remove(sock)
	l, err := net.Listen("unix", sock)
	if err != nil {
		return err
	}
	srv := grpc.NewServer()
	pluginapi.RegisterDevicePluginServer(srv, p)
	go func() { _ = srv.Serve(l) }()
	defer srv.Stop()
	mine, err := os.Stat(sock)
	if err != nil {
		return err
	}
	kubelet, err := waitFor(ctx, kubeletSock)
	if err != nil {
		return err
	}
	if err := register(ctx, kubeletSock, resource); err != nil {
		return err
	}
	log.Printf("registered %s: %v", resource, p.ids)
	lastErr = ""
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(pollEvery):
		}
		if st, err := os.Stat(sock); err != nil || !os.SameFile(st, mine) {
			return errors.New("our socket is gone (kubelet restarted?)")
		}
		if st, err := os.Stat(kubeletSock); err != nil || !os.SameFile(st, kubelet) {
			return errors.New("kubelet.sock was recreated")
		}
	}
}

func waitFor(ctx context.Context, path string) (os.FileInfo, error) {
	for {
		if st, err := os.Stat(path); err == nil {
			return st, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(pollEvery):
		}
	}
}

func register(ctx context.Context, kubeletSock, resource string) error {
	conn, err := grpc.NewClient("unix://"+kubeletSock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err = pluginapi.NewRegistrationClient(conn).Register(ctx, &pluginapi.RegisterRequest{
		Version:      pluginapi.Version,
		Endpoint:     socketName, // relative to the kubelet's device-plugin dir
		ResourceName: resource,
		Options:      &pluginapi.DevicePluginOptions{},
	})
	return err
}

func main() {
	resource := flag.String("resource", "nvidia.com/gpu", "extended resource to advertise")
	dir := flag.String("dir", pluginapi.DevicePluginPath, "the kubelet's device-plugin directory")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: %s [-resource NAME] [-dir DIR] /dev/DEVICE...\n", os.Args[0])
		flag.PrintDefaults()
	}
	flag.Parse()
	p := &plugin{}
	for _, dev := range flag.Args() {
		st, err := os.Stat(dev)
		if err != nil || st.Mode()&os.ModeCharDevice == 0 || filepath.Dir(dev) != "/dev" {
			log.Fatalf("%s: not a character device in /dev", dev)
		}
		p.ids = append(p.ids, filepath.Base(dev))
	}
	if len(p.ids) == 0 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	for ctx.Err() == nil {
		err := serve(ctx, p, *dir, *resource)
		if ctx.Err() != nil {
			break
		}
		// A kubelet that is starting refuses registrations for a moment; one
		// that is stopped would fill the log twice a second.
		if err.Error() != lastErr {
			log.Printf("registering again: %v", err)
			lastErr = err.Error()
		}
		select {
		case <-ctx.Done():
		case <-time.After(pollEvery):
		}
	}
	_ = os.Remove(filepath.Join(*dir, socketName))
	log.Print("stopped")
}
