package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The three-broker target (cluster3): a standalone ZooKeeper server from
// Debian's zookeeper package on a free 127.0.0.1 port with its data in a
// temporary directory, and brokers 1-3 on free 127.0.0.1 ports, each with
// its own temporary log.dirs, all coordinated through that ZooKeeper, as
// scripts/cluster.sh runs them. Everything is stopped, brokers first, and
// the directory removed when the target's stop function runs.

const (
	// zooKeeperJar and zooKeeperClasspath are where Debian's zookeeper
	// package puts the server.
	zooKeeperJar       = "/usr/share/java/zookeeper.jar"
	zooKeeperClasspath = "/etc/zookeeper/conf:" + zooKeeperJar
	// A JVM starting on two busy cores can take a while.
	zooKeeperStartTimeout = 60 * time.Second
	// clusterFormTimeout bounds the wait, once the brokers listen, for
	// all of them to register and a controller to be elected.
	clusterFormTimeout = 60 * time.Second
	clusterBrokers     = 3
)

// requireZooKeeper returns java's path, or an error that says how to
// install Debian's ZooKeeper server.
func requireZooKeeper() (string, error) {
	java, err := exec.LookPath("java")
	if err == nil {
		_, err = os.Stat(zooKeeperJar)
	}
	if err != nil {
		return "", fmt.Errorf("the replication suite needs a ZooKeeper server and java (Debian package zookeeper; "+
			"make deps or scripts/deps.sh installs it), or leave the suite out with -suites produce,group,replay,legacy: %w", err)
	}
	return java, nil
}

// startZooKeeper runs a standalone ZooKeeper server on a free loopback
// port with its data under dir, and waits until it answers "ruok". stop
// kills it and waits for the process.
func startZooKeeper(java, dir string) (string, func(), error) {
	addr, err := freeAddr()
	if err != nil {
		return "", nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	logf, err := os.Create(filepath.Join(dir, "zookeeper.log"))
	if err != nil {
		return "", nil, err
	}
	// A configuration file, not ZooKeeperServerMain's positional
	// arguments, because only the file can bind the client port to
	// 127.0.0.1 (clientPortAddress) rather than every address.
	cfg := filepath.Join(dir, "zoo.cfg")
	if err := os.WriteFile(cfg, []byte(zooKeeperConfig(port, filepath.Join(dir, "zookeeper"))), 0o644); err != nil {
		logf.Close()
		return "", nil, err
	}
	cmd := exec.Command(java, "-Xmx256m", "-Dzookeeper.admin.enableServer=false", "-Dzookeeper.4lw.commands.whitelist=ruok",
		"-cp", zooKeeperClasspath, "org.apache.zookeeper.server.ZooKeeperServerMain", cfg)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return "", nil, fmt.Errorf("starting ZooKeeper: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		cmd.Process.Kill()
		<-exited
		logf.Close()
	}
	deadline := time.Now().Add(zooKeeperStartTimeout)
	for !ruok(addr) {
		select {
		case err := <-exited:
			exited <- err
			stop()
			return "", nil, fmt.Errorf("ZooKeeper exited before answering on %s: %v; its log was %s", addr, err, tailFile(logf.Name()))
		default:
		}
		if time.Now().After(deadline) {
			stop()
			return "", nil, fmt.Errorf("ZooKeeper did not answer ruok on %s within %v; its log was %s", addr, zooKeeperStartTimeout, tailFile(logf.Name()))
		}
		time.Sleep(100 * time.Millisecond)
	}
	return addr, stop, nil
}

// zooKeeperConfig is a standalone server's zoo.cfg: the client port on
// 127.0.0.1 only, data in dataDir, the tick of Kafka's quickstart (which
// allows broker sessions of 4 to 40 seconds) and no admin server.
func zooKeeperConfig(port, dataDir string) string {
	return "clientPortAddress=127.0.0.1\n" +
		"clientPort=" + port + "\n" +
		"dataDir=" + dataDir + "\n" +
		"tickTime=2000\n" +
		"maxClientCnxns=100\n" +
		"admin.enableServer=false\n" +
		"4lw.commands.whitelist=ruok\n"
}

// ruok asks ZooKeeper's four-letter "ruok" command.
func ruok(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("ruok")); err != nil {
		return false
	}
	buf := make([]byte, 4)
	n, _ := c.Read(buf)
	return string(buf[:n]) == "imok"
}

// startCluster3 starts ZooKeeper and brokers 1-3 (startCluster) and
// returns the brokers' addresses and a function that stops everything.
func startCluster3(ctx context.Context, o options) ([]string, func(), error) {
	c, err := startCluster(ctx, o, nil)
	if err != nil {
		return nil, nil, err
	}
	return c.addrs, c.stop, nil
}

// cluster is ZooKeeper and brokers 1-3 with what it takes to kill a
// broker and start it again as itself: the same broker.id, address and
// log.dirs.
type cluster struct {
	o         options
	dir       string   // temporary: ZooKeeper's data, brokers' log.dirs and logs
	bin       string   // the broker binary
	overrides []string // every broker's, after zookeeper.connect and broker.id
	zk        string   // ZooKeeper's address
	addrs     []string // broker id's address at addrs[id-1], for its life
	// procs[id-1] is broker id's process; nil while it is killed.
	procs  []*brokerProc
	stopZK func()
}

// startCluster starts ZooKeeper and brokers 1-3, each with overrides,
// and waits until every broker is registered and a controller elected.
func startCluster(ctx context.Context, o options, overrides []string) (*cluster, error) {
	java, err := requireZooKeeper()
	if err != nil {
		return nil, err
	}
	c := &cluster{o: o, overrides: overrides, stopZK: func() {}}
	if c.dir, err = os.MkdirTemp("", "ckbench-cluster3-"); err != nil {
		return nil, err
	}
	if c.bin, err = brokerBinary(ctx, o, c.dir); err != nil {
		c.stop()
		return nil, err
	}
	if c.zk, c.stopZK, err = startZooKeeper(java, c.dir); err != nil {
		c.stop()
		return nil, err
	}
	for id := 1; id <= clusterBrokers; id++ {
		addr, err := freeAddr()
		if err == nil {
			c.addrs, c.procs = append(c.addrs, addr), append(c.procs, nil)
			err = c.restart(id)
		}
		if err != nil {
			c.stop()
			return nil, fmt.Errorf("broker %d: %w", id, err)
		}
	}
	if err := waitFormed(ctx, c.addrs); err != nil {
		err = fmt.Errorf("%w; broker 1's log was %s", err, tailFile(filepath.Join(c.dir, "broker-1.log")))
		c.stop()
		return nil, err
	}
	return c, nil
}

// restart starts broker id (1-3), which must not be running, at its
// address and on its log.dirs, and waits until it listens.
func (c *cluster) restart(id int) error {
	if c.procs[id-1] != nil {
		panic(fmt.Sprintf("cluster.restart: broker %d is running", id))
	}
	overrides := append([]string{"zookeeper.connect=" + c.zk, "broker.id=" + strconv.Itoa(id)}, c.overrides...)
	p, err := startBrokerProc(c.bin, c.dir, "broker-"+strconv.Itoa(id), c.addrs[id-1], overrides, c.o)
	if err != nil {
		return err
	}
	c.procs[id-1] = p
	return nil
}

// kill sends broker id (1-3) SIGKILL and waits for the process.
func (c *cluster) kill(id int) {
	p := c.procs[id-1]
	if p == nil {
		panic(fmt.Sprintf("cluster.kill: broker %d is not running", id))
	}
	p.kill()
	p.stop() // closes its log file; the process is gone already
	c.procs[id-1] = nil
}

// stop stops the running brokers, then ZooKeeper, and removes the
// temporary directory.
func (c *cluster) stop() {
	for _, p := range c.procs {
		if p != nil {
			p.stop()
		}
	}
	c.stopZK()
	os.RemoveAll(c.dir)
}

// waitFormed polls Metadata until it lists every broker and a controller.
func waitFormed(ctx context.Context, seeds []string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, clusterFormTimeout)
	defer cancel()
	last := "no answer"
	for ctx.Err() == nil {
		resp, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl)
		switch {
		case err != nil:
			last = err.Error()
		case len(resp.Brokers) == len(seeds) && resp.ControllerID >= 0:
			return nil
		default:
			last = fmt.Sprintf("%d brokers, controller %d", len(resp.Brokers), resp.ControllerID)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("the cluster did not form within " + clusterFormTimeout.String() + ": " + last)
}
