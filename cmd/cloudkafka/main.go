// Command cloudkafka runs one Cloud Kafka broker.
//
//	cloudkafka [server.properties] [--override key=value ...]
//
// Properties use Kafka's names and defaults. With zookeeper.connect unset
// the broker runs alone on an embedded coordinator kept in its log
// directory. SIGTERM or SIGINT shuts it down gracefully: in a cluster, a
// controlled shutdown first (the controller elects it leader of nothing
// more; controlled.shutdown.*), then connections are closed and every
// log is synced.
package main

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"cloudkafka/core"
	"cloudkafka/realio"
)

func main() {
	logger := log.New(os.Stderr, "cloudkafka ", log.LstdFlags|log.Lmicroseconds)
	cfg, err := configure(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "cloudkafka: %v\n", err)
		fmt.Fprintln(os.Stderr, "usage: cloudkafka [server.properties] [--override key=value ...]")
		os.Exit(2)
	}
	for _, name := range cfg.NoEffect() {
		logger.Printf("%s=%s: accepted, no effect", name, cfg.Set[name])
	}
	for _, name := range cfg.Unknown {
		logger.Printf("%s: supplied but not a known config, ignored (as Kafka ignores it)", name)
	}
	srv, err := realio.Start(cfg, logger.Printf)
	if err != nil {
		logger.Printf("failed to start: %v", err)
		os.Exit(1)
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	status := 0
	select {
	case sig := <-sigs:
		logger.Printf("received %v, shutting down", sig)
		srv.ControlledShutdown()
	case reason := <-srv.Fatal():
		// no controlled shutdown: the registration the controller knows
		// under this id is no longer this broker's
		logger.Printf("fatal: %s; shutting down", reason)
		status = 1
	}
	if err := srv.Shutdown(); err != nil {
		logger.Printf("shutdown: %v", err)
		os.Exit(1)
	}
	logger.Printf("shut down cleanly")
	os.Exit(status)
}

// configure reads the optional properties file and the overrides.
func configure(args []string) (core.Config, error) {
	props := map[string]string{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--override" || a == "-override":
			if i+1 >= len(args) {
				return core.Config{}, fmt.Errorf("%s needs key=value", a)
			}
			i++
			k, v, ok := strings.Cut(args[i], "=")
			if !ok || strings.TrimSpace(k) == "" {
				return core.Config{}, fmt.Errorf("override %q is not key=value", args[i])
			}
			props[strings.TrimSpace(k)] = strings.TrimSpace(v)
		case strings.HasPrefix(a, "-"):
			return core.Config{}, fmt.Errorf("unknown flag %s", a)
		case i == 0:
			file, err := readProperties(a)
			if err != nil {
				return core.Config{}, err
			}
			for k, v := range file {
				if _, overridden := props[k]; !overridden {
					props[k] = v
				}
			}
		default:
			return core.Config{}, fmt.Errorf("unexpected argument %q", a)
		}
	}
	cfg, err := core.ParseProperties(props)
	if err != nil {
		return cfg, err
	}
	var seed [8]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return cfg, fmt.Errorf("seed: %w", err)
	}
	cfg.Seed = binary.LittleEndian.Uint64(seed[:])
	return cfg, nil
}
