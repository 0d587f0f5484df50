package core

import (
	"errors"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// AlterUserScramCredentials: v0
//
// Behavior (Kafka's ZkAdminManager.alterUserScramCredentials):
//   - Needs Alter on the cluster (acl.go): else every user answers
//     CLUSTER_AUTHORIZATION_FAILED and nothing is stored.
//   - A user with an illegal operation gets one result and nothing of
//     it changes: an empty name UNACCEPTABLE_CREDENTIAL ("Username must
//     not be empty"), a mechanism other than SCRAM-SHA-256 (1) and
//     SCRAM-SHA-512 (2) UNSUPPORTED_SASL_MECHANISM ("Unknown SCRAM
//     mechanism"), iterations below 4096 or above 16384
//     UNACCEPTABLE_CREDENTIAL ("Too few iterations", "Too many
//     iterations").
//   - A user whose (user, mechanism) pair appears twice among the rest:
//     DUPLICATE_RESOURCE ("A user credential cannot be altered twice in
//     the same request").
//   - A deletion of a credential the user does not have:
//     RESOURCE_NOT_FOUND ("Attempt to delete a user credential that does
//     not exist"), and nothing of that user changes.
//   - Otherwise the user's /config/users/<user> document is read, its
//     deletions and then upsertions applied (an upsertion stores the
//     credential of the salt and salted password given; other entries,
//     such as quotas, are kept), written, and a change notification
//     created for the other brokers. A store failure answers that user
//     UNKNOWN_SERVER_ERROR.
//   - Results come in that order (refused, duplicated, not found, then
//     the others), each group in the order the users first appear.

func (b *Broker) handleAlterUserScramCredentials(r Request) {
	req := r.Body.(*kmsg.AlterUserSCRAMCredentialsRequest)
	resp := kmsg.NewPtrAlterUserSCRAMCredentialsResponse()
	result := func(user string, code int16, msg string) {
		res := kmsg.NewAlterUserSCRAMCredentialsResponseResult()
		res.User, res.ErrorCode = user, code
		if msg != "" {
			res.ErrorMessage = errMsg(msg)
		}
		resp.Results = append(resp.Results, res)
	}
	order, illegal := alterIllegal(req)
	if !b.authorizedCluster(r, kmsg.ACLOperationAlter) {
		for _, u := range order {
			result(u, errClusterAuth, "")
		}
		b.respond(r, resp)
		return
	}
	for _, u := range order {
		if msg, ok := illegal[u]; ok {
			code := kerr.UnacceptableCredential.Code
			if msg == "Unknown SCRAM mechanism" {
				code = kerr.UnsupportedSaslMechanism.Code
			}
			result(u, code, msg)
		}
	}
	var valid []string
	for _, u := range order {
		if _, bad := illegal[u]; bad {
			continue
		}
		if alterDuplicated(req, u) {
			result(u, kerr.DuplicateResource.Code, "A user credential cannot be altered twice in the same request")
			continue
		}
		valid = append(valid, u)
	}
	b.alterUsers(req, valid, result, func() { b.respond(r, resp) })
}

// alterIllegal lists the users in order of first appearance and the
// message of each one with an illegal operation (a later upsertion's
// message wins over a deletion's, as Kafka's map concatenation does).
func alterIllegal(req *kmsg.AlterUserSCRAMCredentialsRequest) ([]string, map[string]string) {
	var order []string
	illegal := map[string]string{}
	see := func(u string) {
		if !slices.Contains(order, u) {
			order = append(order, u)
		}
	}
	for _, d := range req.Deletions {
		see(d.Name)
		_, known := scramMechanismName(d.Mechanism)
		switch {
		case d.Name == "":
			illegal[d.Name] = usernameMustNotBeEmpty
		case !known:
			illegal[d.Name] = "Unknown SCRAM mechanism"
		}
	}
	for _, u := range req.Upsertions {
		see(u.Name)
		_, known := scramMechanismName(u.Mechanism)
		switch {
		case u.Name == "":
			illegal[u.Name] = usernameMustNotBeEmpty
		case !known:
			illegal[u.Name] = "Unknown SCRAM mechanism"
		case u.Iterations > scramIterationsMax:
			illegal[u.Name] = "Too many iterations"
		case u.Iterations < scramIterationsMin:
			illegal[u.Name] = "Too few iterations"
		}
	}
	return order, illegal
}

// alterDuplicated says whether one of user's (user, mechanism) pairs
// appears twice among the upsertions and deletions.
func alterDuplicated(req *kmsg.AlterUserSCRAMCredentialsRequest, user string) bool {
	seen := map[int8]bool{}
	dup := false
	mark := func(name string, m int8) {
		if name == user {
			dup = dup || seen[m]
			seen[m] = true
		}
	}
	for _, u := range req.Upsertions {
		mark(u.Name, u.Mechanism)
	}
	for _, d := range req.Deletions {
		mark(d.Name, d.Mechanism)
	}
	return dup
}

// alterUsers reads, changes and writes each valid user's document; it
// reports each user's outcome in order, then calls done.
func (b *Broker) alterUsers(req *kmsg.AlterUserSCRAMCredentialsRequest, users []string, result func(string, int16, string), done func()) {
	type outcome struct {
		code int16
		msg  string
	}
	outcomes := make([]*outcome, len(users))
	pending := 1
	finish := func() {
		if pending--; pending > 0 {
			return
		}
		for _, nf := range []bool{true, false} { // the not-found ones first
			for i, u := range users {
				if o := outcomes[i]; (o.code == kerr.ResourceNotFound.Code) == nf {
					result(u, o.code, o.msg)
				}
			}
		}
		done()
	}
	for i, user := range users {
		pending++
		b.alterUser(req, user, func(code int16, msg string) {
			outcomes[i] = &outcome{code, msg}
			finish()
		})
	}
	finish()
}

// alterUser applies one user's deletions and upsertions to its stored
// document.
func (b *Broker) alterUser(req *kmsg.AlterUserSCRAMCredentialsRequest, user string, done func(int16, string)) {
	path := zkUsers + sanitizeName(user)
	b.coordRead(CoordOp{Kind: CoordGet, Path: path}, func(r CoordResult) {
		var data []byte
		switch {
		case r.Err == nil:
			data = r.Data
		case !errors.Is(r.Err, ErrCoordNoNode):
			done(kerr.UnknownServerError.Code, "reading "+path+": "+r.Err.Error())
			return
		}
		config, err := userConfig(data)
		if err != nil {
			done(kerr.UnknownServerError.Code, "reading "+path+": "+err.Error())
			return
		}
		for _, d := range req.Deletions {
			m, _ := scramMechanismName(d.Mechanism)
			if _, ok := config[m]; d.Name == user && !ok {
				done(kerr.ResourceNotFound.Code, "Attempt to delete a user credential that does not exist")
				return
			}
		}
		for _, d := range req.Deletions {
			if m, _ := scramMechanismName(d.Mechanism); d.Name == user {
				delete(config, m)
			}
		}
		for _, u := range req.Upsertions {
			if m, _ := scramMechanismName(u.Mechanism); u.Name == user {
				config[m] = NewScramCredential(m, u.Salt, u.SaltedPassword, u.Iterations).String()
			}
		}
		b.writeUser(user, config, done)
	})
}

// writeUser stores a user's document and notifies the other brokers.
func (b *Broker) writeUser(user string, config map[string]string, done func(int16, string)) {
	data := userConfigData(config)
	b.coordWrite(upsertOp(zkUsers+sanitizeName(user), data), func(err error) {
		if err != nil {
			done(kerr.UnknownServerError.Code, "writing the credentials: "+err.Error())
			return
		}
		if b.scram.users != nil {
			b.cacheUser(sanitizeName(user), data)
		}
		op := createOp(configChange, userChangeData(user))
		op.Sequential = true
		b.coordWrite(op, func(err error) {
			if err != nil {
				done(kerr.UnknownServerError.Code, "notifying the change: "+err.Error())
				return
			}
			done(0, "")
		})
	})
}
