package main

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/twmb/franz-go/pkg/kadm"
)

// User commands, after kafka-configs --entity-type users
// --alter --add-config 'SCRAM-SHA-256=[iterations=N,password=P]': SCRAM
// credentials through AlterUserScramCredentials and
// DescribeUserScramCredentials. The password is salted and hashed here
// (kadm: a random 24-byte salt, PBKDF2); the broker stores only the
// salted credential. It is read from standard input (first line) unless
// --password is given, so that it stays out of the process list.

func userCommand(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: user needs a subcommand: create, delete or list", errUsage)
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "create", "upsert":
		return userCreate(ctx, e, rest)
	case "delete":
		return userDelete(ctx, e, rest)
	case "list", "ls", "describe":
		return userList(ctx, e, rest)
	default:
		return fmt.Errorf("%w: unknown user subcommand %q", errUsage, sub)
	}
}

// scramMechanism reads a SCRAM mechanism's name.
func scramMechanism(name string) (kadm.ScramMechanism, error) {
	switch strings.ToUpper(name) {
	case "SCRAM-SHA-256":
		return kadm.ScramSha256, nil
	case "SCRAM-SHA-512":
		return kadm.ScramSha512, nil
	}
	return 0, fmt.Errorf("%w: unknown mechanism %q (SCRAM-SHA-256, SCRAM-SHA-512)", errUsage, name)
}

func userCreate(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("user create", &e.g)
	mech := fs.String("mechanism", "SCRAM-SHA-256", "SCRAM-SHA-256 or SCRAM-SHA-512")
	iterations := fs.Int("iterations", 4096, "SCRAM iterations (4096 to 16384)")
	password := fs.String("password", "", "the password (default: the first line of standard input)")
	names, err := positional(fs, "user create", args, 1)
	if err != nil {
		return err
	}
	m, err := scramMechanism(*mech)
	if err != nil {
		return err
	}
	pass := *password
	if pass == "" {
		line, err := bufio.NewReader(e.stdin).ReadString('\n')
		if pass = strings.TrimRight(line, "\r\n"); pass == "" {
			return fmt.Errorf("user create: no password (give --password or a line on standard input): %v", err)
		}
	}
	up := kadm.UpsertSCRAM{User: names[0], Mechanism: m, Iterations: int32(*iterations), Password: pass}
	return e.alterUsers(ctx, "created", nil, []kadm.UpsertSCRAM{up})
}

func userDelete(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("user delete", &e.g)
	mech := fs.String("mechanism", "SCRAM-SHA-256", "SCRAM-SHA-256 or SCRAM-SHA-512")
	names, err := positional(fs, "user delete", args, 1)
	if err != nil {
		return err
	}
	m, err := scramMechanism(*mech)
	if err != nil {
		return err
	}
	return e.alterUsers(ctx, "deleted", []kadm.DeleteSCRAM{{User: names[0], Mechanism: m}}, nil)
}

func (e *env) alterUsers(ctx context.Context, what string, del []kadm.DeleteSCRAM, up []kadm.UpsertSCRAM) error {
	var res kadm.AlteredUserSCRAMs
	err := e.withAdmin(ctx, func(actx context.Context, adm *kadm.Client) (err error) {
		res, err = adm.AlterUserSCRAMs(actx, del, up)
		return err
	})
	if err != nil {
		return fmt.Errorf("altering SCRAM credentials: %w", err)
	}
	for _, r := range res.Sorted() {
		if r.Err != nil {
			return fmt.Errorf("user %s: %v%s", r.User, r.Err, errMessage(r.ErrMessage))
		}
		fmt.Fprintf(e.stdout, "%s SCRAM credential of user %s\n", what, r.User)
	}
	return nil
}

// userJSON is one element of user list -o json; never a secret.
type userJSON struct {
	User        string           `json:"user"`
	Credentials []credentialJSON `json:"credentials"` // in the broker's order
}

type credentialJSON struct {
	Mechanism  string `json:"mechanism"` // SCRAM-SHA-256 or SCRAM-SHA-512
	Iterations int32  `json:"iterations"`
}

func userList(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("user list", &e.g)
	output := registerOutput(fs)
	names, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	var users kadm.DescribedUserSCRAMs
	err = e.withAdmin(ctx, func(actx context.Context, adm *kadm.Client) (err error) {
		users, err = adm.DescribeUserSCRAMs(actx, names...)
		return err
	})
	if err != nil {
		return fmt.Errorf("describing SCRAM credentials: %w", err)
	}
	docs := []userJSON{}
	var failed []string
	for _, u := range users.Sorted() {
		if u.Err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v%s", u.User, u.Err, errMessage(u.ErrMessage)))
			continue
		}
		doc := userJSON{User: u.User, Credentials: []credentialJSON{}}
		for _, c := range u.CredInfos {
			doc.Credentials = append(doc.Credentials, credentialJSON{c.Mechanism.String(), c.Iterations})
		}
		docs = append(docs, doc)
	}
	err = output.emit(e.stdout, docs, func() error {
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "USER\tMECHANISM\tITERATIONS")
		for _, u := range docs {
			for _, c := range u.Credentials {
				fmt.Fprintf(tw, "%s\t%s\t%d\n", u.User, c.Mechanism, c.Iterations)
			}
		}
		return tw.Flush()
	})
	if err != nil {
		return err
	}
	if len(failed) > 0 {
		return fmt.Errorf("describing users: %s", strings.Join(failed, "; "))
	}
	return nil
}
