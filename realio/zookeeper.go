package realio

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zookeeper/zk"

	"cloudkafka/core"
	kio "cloudkafka/io"
)

// ZooKeeperConfig is how a broker reaches its ensemble: Kafka's
// zookeeper.connect ("host:port,host:port/chroot"),
// zookeeper.session.timeout.ms and zookeeper.connection.timeout.ms.
type ZooKeeperConfig struct {
	Connect           string
	SessionTimeout    time.Duration
	ConnectionTimeout time.Duration
	// OnWatch receives each watch notification, its path relative to the
	// chroot, once per notification the server sends the session. It
	// runs on the client's goroutine and must not block.
	OnWatch func(path string, typ core.CoordWatchType)
	// OnExpired is called when the server expired the session (its
	// ephemeral nodes and watches are gone). It must not block.
	OnExpired func()
	// OnNewSession is called with the id of each session established
	// after the first (the client starts one when the last expired). It
	// must not block.
	OnNewSession func(id int64)
}

// ZooKeeper is the coordination port on a real ensemble, through
// go-zookeeper. Operations run one at a time, in the order they are
// applied, on one session; the recursive recipes (parents, upsert,
// recursive delete) are sequences of ZooKeeper operations, as in Kafka's
// ZooKeeper client, and a guard is a multi of a version check and the
// operation.
type ZooKeeper struct {
	conn   *zk.Conn
	chroot string // "" or "/path"
	cfg    ZooKeeperConfig

	opMu sync.Mutex // one operation at a time, in order

	mu     sync.Mutex
	closed bool
}

// ParseZooKeeperConnect splits zookeeper.connect into its servers and
// chroot, as Kafka reads it.
func ParseZooKeeperConnect(connect string) (servers []string, chroot string, err error) {
	hosts := connect
	if i := strings.IndexByte(connect, '/'); i >= 0 {
		hosts, chroot = connect[:i], connect[i:]
		if chroot == "/" {
			chroot = ""
		} else if err := kio.CheckZPath(chroot); err != nil {
			return nil, "", fmt.Errorf("zookeeper.connect %q: chroot: %w", connect, err)
		}
	}
	for _, h := range strings.Split(hosts, ",") {
		if h = strings.TrimSpace(h); h == "" {
			return nil, "", fmt.Errorf("zookeeper.connect %q: an empty server", connect)
		}
		if !strings.Contains(h, ":") {
			h += ":2181"
		}
		servers = append(servers, h)
	}
	return servers, chroot, nil
}

// DialZooKeeper connects, waits (within the connection timeout) for a
// session, and creates the chroot if it is missing, as Kafka does.
func DialZooKeeper(cfg ZooKeeperConfig, logf func(string, ...any)) (*ZooKeeper, error) {
	servers, chroot, err := ParseZooKeeperConnect(cfg.Connect)
	if err != nil {
		return nil, err
	}
	if cfg.ConnectionTimeout <= 0 {
		cfg.ConnectionTimeout = cfg.SessionTimeout
	}
	z := &ZooKeeper{chroot: chroot, cfg: cfg}
	connected := make(chan struct{})
	var once sync.Once
	var session atomic.Int64            // the last session established
	var connPtr atomic.Pointer[zk.Conn] // set once Connect returned
	onEvent := func(ev zk.Event) {
		switch {
		case ev.Type == zk.EventSession && ev.State == zk.StateHasSession:
			if c := connPtr.Load(); c != nil {
				id := c.SessionID()
				if old := session.Swap(id); old != 0 && old != id && cfg.OnNewSession != nil {
					cfg.OnNewSession(id)
				}
			}
			once.Do(func() { close(connected) })
		case ev.Type == zk.EventSession && ev.State == zk.StateExpired:
			if cfg.OnExpired != nil {
				cfg.OnExpired()
			}
		case ev.Type == zk.EventNodeCreated, ev.Type == zk.EventNodeDeleted, ev.Type == zk.EventNodeDataChanged,
			ev.Type == zk.EventNodeChildrenChanged:
			if cfg.OnWatch != nil {
				cfg.OnWatch(z.relative(ev.Path), watchType(ev.Type))
			}
		}
	}
	conn, _, err := zk.Connect(servers, cfg.SessionTimeout, zk.WithEventCallback(onEvent), zk.WithLogger(zkLogger{logf}))
	if err != nil {
		return nil, fmt.Errorf("zookeeper %s: %w", cfg.Connect, err)
	}
	z.conn = conn
	connPtr.Store(conn)
	select {
	case <-connected:
	case <-time.After(cfg.ConnectionTimeout):
		conn.Close()
		return nil, fmt.Errorf("zookeeper %s: no session within zookeeper.connection.timeout.ms (%s)", cfg.Connect, cfg.ConnectionTimeout)
	}
	if chroot != "" {
		if _, err := z.ensure(chroot); err != nil && !errors.Is(err, zk.ErrNodeExists) {
			conn.Close()
			return nil, fmt.Errorf("zookeeper %s: create chroot %s: %w", cfg.Connect, chroot, err)
		}
	}
	return z, nil
}

type zkLogger struct{ logf func(string, ...any) }

func (l zkLogger) Printf(format string, args ...any) {
	if l.logf != nil {
		l.logf("zookeeper: "+format, args...)
	}
}

// Load reads every persistent znode below the chroot, sorted by path: what
// the broker recovers from at start (it runs before the event loop).
func (z *ZooKeeper) Load() ([]core.Znode, error) {
	var out []core.Znode
	var walk func(p string) error
	walk = func(p string) error {
		kids, _, err := z.conn.Children(z.abs(p))
		if err != nil {
			return err
		}
		slices.Sort(kids)
		for _, k := range kids {
			c := "/" + k
			if p != "/" {
				c = p + c
			}
			if z.chroot == "" && c == "/zookeeper" {
				continue // the server's own subtree
			}
			data, st, err := z.conn.Get(z.abs(c))
			if errors.Is(err, zk.ErrNoNode) {
				continue // deleted meanwhile
			}
			if err != nil {
				return err
			}
			if st.EphemeralOwner == 0 {
				out = append(out, core.Znode{Path: c, Data: data})
			}
			if err := walk(c); err != nil && !errors.Is(err, zk.ErrNoNode) {
				return err
			}
		}
		return nil
	}
	if err := walk("/"); err != nil {
		return nil, fmt.Errorf("zookeeper %s: reading the cluster's znodes: %w", z.cfg.Connect, err)
	}
	slices.SortFunc(out, func(a, b core.Znode) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
}

// SessionID is the session's id, as ephemeral nodes' owners show it.
func (z *ZooKeeper) SessionID() int64 { return z.conn.SessionID() }

// TakeWatches implements kio.Coordinator: notifications go to
// ZooKeeperConfig.OnWatch instead.
func (z *ZooKeeper) TakeWatches() []core.CoordWatchFired { return nil }

// Session implements kio.Coordinator.
func (z *ZooKeeper) Session() int64 { return z.conn.SessionID() }

// Close ends the session: the server deletes its ephemeral nodes at once.
func (z *ZooKeeper) Close() {
	z.mu.Lock()
	z.closed = true
	z.mu.Unlock()
	z.conn.Close()
}

func (z *ZooKeeper) isClosed() bool {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.closed
}

func watchType(t zk.EventType) core.CoordWatchType {
	switch t {
	case zk.EventNodeCreated:
		return core.WatchNodeCreated
	case zk.EventNodeDeleted:
		return core.WatchNodeDeleted
	case zk.EventNodeDataChanged:
		return core.WatchNodeDataChanged
	}
	return core.WatchNodeChildrenChanged
}

func (z *ZooKeeper) abs(p string) string {
	if p == "/" && z.chroot != "" {
		return z.chroot
	}
	return z.chroot + p
}

func (z *ZooKeeper) relative(p string) string {
	if z.chroot == "" {
		return p
	}
	if p == z.chroot {
		return "/"
	}
	return strings.TrimPrefix(p, z.chroot)
}

// Apply performs op and returns its result: the store's verdict, or
// ErrCoordConnectionLoss when the outcome is unknown.
func (z *ZooKeeper) Apply(op core.CoordOp) core.CoordResult {
	z.opMu.Lock()
	defer z.opMu.Unlock()
	res := core.CoordResult{Token: op.Token}
	if err := kio.CheckZPath(op.Path); err != nil {
		res.Err = err
		return res
	}
	if op.Guard != nil {
		if err := kio.CheckZPath(op.Guard.Path); err != nil {
			res.Err = err
			return res
		}
	}
	if z.isClosed() {
		res.Err = fmt.Errorf("%w: the session was closed", core.ErrCoordSessionExpired)
		return res
	}
	var err error
	switch op.Kind {
	case core.CoordCreate:
		res.Path, res.Stat, err = z.create(op)
	case core.CoordSet:
		res.Stat, err = z.set(op)
	case core.CoordDelete:
		err = z.delete(op)
	case core.CoordGet:
		var st *zk.Stat
		if op.Watch {
			res.Data, st, _, err = z.conn.GetW(z.abs(op.Path))
		} else {
			res.Data, st, err = z.conn.Get(z.abs(op.Path))
		}
		res.Stat = statOf(st)
	case core.CoordExists:
		var ok bool
		var st *zk.Stat
		if op.Watch {
			ok, st, _, err = z.conn.ExistsW(z.abs(op.Path))
		} else {
			ok, st, err = z.conn.Exists(z.abs(op.Path))
		}
		if err == nil && !ok {
			err = zk.ErrNoNode
		}
		res.Stat = statOf(st)
	case core.CoordChildren:
		var st *zk.Stat
		if op.Watch {
			res.Children, st, _, err = z.conn.ChildrenW(z.abs(op.Path))
		} else {
			res.Children, st, err = z.conn.Children(z.abs(op.Path))
		}
		slices.Sort(res.Children)
		res.Stat = statOf(st)
	default:
		err = fmt.Errorf("%w: unknown coordination op %d", core.ErrCoordBadArguments, op.Kind)
	}
	if err != nil {
		res = core.CoordResult{Token: op.Token, Err: z.verdict(op.Path, err)}
	}
	return res
}

func statOf(st *zk.Stat) core.CoordStat {
	if st == nil {
		return core.CoordStat{}
	}
	return core.CoordStat{Version: st.Version, CVersion: st.Cversion, EphemeralOwner: st.EphemeralOwner, NumChildren: st.NumChildren, Czxid: st.Czxid}
}

// verdict maps go-zookeeper's errors to the port's.
func (z *ZooKeeper) verdict(path string, err error) error {
	for _, m := range []struct{ zk, core error }{
		{zk.ErrNoNode, core.ErrCoordNoNode},
		{zk.ErrNodeExists, core.ErrCoordNodeExists},
		{zk.ErrBadVersion, core.ErrCoordBadVersion},
		{zk.ErrNotEmpty, core.ErrCoordNotEmpty},
		{zk.ErrNoChildrenForEphemerals, core.ErrCoordNoChildrenForEphemerals},
		{zk.ErrSessionExpired, core.ErrCoordSessionExpired},
		{zk.ErrBadArguments, core.ErrCoordBadArguments},
		{zk.ErrInvalidPath, core.ErrCoordBadArguments},
	} {
		if errors.Is(err, m.zk) {
			return fmt.Errorf("%w: %s", m.core, path)
		}
	}
	if errors.Is(err, core.ErrCoordBadArguments) {
		return err
	}
	if z.isClosed() {
		return fmt.Errorf("%w: %s: %v", core.ErrCoordSessionExpired, path, err)
	}
	return fmt.Errorf("%w: %s: %v", core.ErrCoordConnectionLoss, path, err)
}

// guarded runs req alone, or in a multi after the op's guard check; it
// returns req's response.
func (z *ZooKeeper) guarded(g *core.CoordGuard, req any) (zk.MultiResponse, error) {
	ops := []any{req}
	if g != nil {
		ops = []any{&zk.CheckVersionRequest{Path: z.abs(g.Path), Version: g.Version}, req}
	}
	rs, err := z.conn.Multi(ops...)
	if err != nil {
		if g != nil && len(rs) == 2 && rs[0].Error != nil {
			return zk.MultiResponse{}, fmt.Errorf("guard %s: %w", g.Path, rs[0].Error)
		}
		if len(rs) > 0 && rs[len(rs)-1].Error != nil {
			return zk.MultiResponse{}, rs[len(rs)-1].Error
		}
		return zk.MultiResponse{}, err
	}
	return rs[len(rs)-1], nil
}

// ensure creates p (absolute) with its missing ancestors, empty.
func (z *ZooKeeper) ensure(p string) (string, error) {
	if _, err := z.conn.Create(p, nil, 0, zk.WorldACL(zk.PermAll)); err == nil || !errors.Is(err, zk.ErrNoNode) {
		return p, err
	}
	parent := p[:strings.LastIndexByte(p, '/')]
	if parent != "" {
		if _, err := z.ensure(parent); err != nil && !errors.Is(err, zk.ErrNodeExists) {
			return "", err
		}
	}
	return z.conn.Create(p, nil, 0, zk.WorldACL(zk.PermAll))
}

func (z *ZooKeeper) create(op core.CoordOp) (string, core.CoordStat, error) {
	if op.Path == "/" {
		return "", core.CoordStat{}, zk.ErrNodeExists
	}
	if op.Ephemeral && z.isClosed() {
		return "", core.CoordStat{}, zk.ErrSessionExpired
	}
	abs := z.abs(op.Path)
	if op.Parents {
		if parent := abs[:strings.LastIndexByte(abs, '/')]; parent != "" && parent != z.chroot {
			if _, err := z.ensure(parent); err != nil && !errors.Is(err, zk.ErrNodeExists) {
				return "", core.CoordStat{}, err
			}
		}
	}
	var flags int32
	if op.Ephemeral {
		flags |= zk.FlagEphemeral
	}
	if op.Sequential {
		flags |= zk.FlagSequence
	}
	r, err := z.guarded(op.Guard, &zk.CreateRequest{Path: abs, Data: op.Data, Acl: zk.WorldACL(zk.PermAll), Flags: flags})
	if err != nil {
		return "", core.CoordStat{}, err
	}
	_, st, err := z.conn.Exists(r.String)
	if err != nil {
		return "", core.CoordStat{}, err
	}
	return z.relative(r.String), statOf(st), nil
}

func (z *ZooKeeper) set(op core.CoordOp) (core.CoordStat, error) {
	r, err := z.guarded(op.Guard, &zk.SetDataRequest{Path: z.abs(op.Path), Data: op.Data, Version: op.Version})
	if errors.Is(err, zk.ErrNoNode) && op.Upsert && (op.Version == core.CoordAnyVersion || op.Version == 0) {
		_, st, cerr := z.create(core.CoordOp{Kind: core.CoordCreate, Path: op.Path, Data: op.Data, Parents: true, Guard: op.Guard})
		return st, cerr
	}
	if err != nil {
		return core.CoordStat{}, err
	}
	return statOf(r.Stat), nil
}

func (z *ZooKeeper) delete(op core.CoordOp) error {
	if op.Path == "/" {
		return fmt.Errorf("%w: the root cannot be deleted", core.ErrCoordBadArguments)
	}
	abs := z.abs(op.Path)
	if op.Recursive {
		if err := z.deleteChildren(abs, op.Guard); err != nil {
			return err
		}
	}
	_, err := z.guarded(op.Guard, &zk.DeleteRequest{Path: abs, Version: op.Version})
	return err
}

// deleteChildren deletes p's subtree below p, deepest first; children
// already gone are fine.
func (z *ZooKeeper) deleteChildren(p string, g *core.CoordGuard) error {
	kids, _, err := z.conn.Children(p)
	if err != nil {
		return err
	}
	for _, k := range kids {
		c := p + "/" + k
		if err := z.deleteChildren(c, g); err != nil && !errors.Is(err, zk.ErrNoNode) {
			return err
		}
		if _, err := z.guarded(g, &zk.DeleteRequest{Path: c, Version: -1}); err != nil && !errors.Is(err, zk.ErrNoNode) {
			return err
		}
	}
	return nil
}
