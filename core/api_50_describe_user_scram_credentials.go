package core

import (
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DescribeUserScramCredentials: v0
//
// Behavior (Kafka's ZkAdminManager.describeUserScramCredentials):
//   - Needs Describe on the cluster (acl.go): else
//     CLUSTER_AUTHORIZATION_FAILED.
//   - Read from the coordination store (/config/users), not a cache.
//   - No users asked (null or empty): every user with a SCRAM
//     credential, sorted by name.
//   - Users asked: one result per distinct user, in the order asked. An
//     empty name gets RESOURCE_NOT_FOUND ("Username must not be empty"),
//     a name asked twice DUPLICATE_RESOURCE, a user without a SCRAM
//     credential RESOURCE_NOT_FOUND ("Attempt to describe a user
//     credential that does not exist: <user>").
//   - Each credential is its mechanism and iterations; nothing secret.
//   - The store unreadable: the top-level error is UNKNOWN_SERVER_ERROR.

const usernameMustNotBeEmpty = "Username must not be empty"

func (b *Broker) handleDescribeUserScramCredentials(r Request) {
	req := r.Body.(*kmsg.DescribeUserSCRAMCredentialsRequest)
	resp := kmsg.NewPtrDescribeUserSCRAMCredentialsResponse()
	if !b.authorizedCluster(r, kmsg.ACLOperationDescribe) {
		resp.ErrorCode = errClusterAuth
		b.respond(r, resp)
		return
	}
	b.readUsers(func(byName map[string][]byte, err error) {
		if err != nil {
			resp.ErrorCode = kerr.UnknownServerError.Code
			resp.ErrorMessage = errMsg("reading /config/users: " + err.Error())
			b.respond(r, resp)
			return
		}
		users := map[string]map[string]ScramCredential{}
		for _, name := range sortedKeys(byName) {
			user, err := desanitizeName(name)
			config, err2 := userConfig(byName[name])
			if err == nil && err2 == nil {
				users[user] = scramOf(config)
			}
		}
		resp.Results = describeScram(req, users)
		b.respond(r, resp)
	})
}

func describeScram(req *kmsg.DescribeUserSCRAMCredentialsRequest, users map[string]map[string]ScramCredential) []kmsg.DescribeUserSCRAMCredentialsResponseResult {
	var out []kmsg.DescribeUserSCRAMCredentialsResponseResult
	if len(req.Users) == 0 {
		for _, u := range sortedKeys(users) {
			if len(users[u]) > 0 {
				out = append(out, scramResult(u, users[u]))
			}
		}
		return out
	}
	count := map[string]int{}
	for _, u := range req.Users {
		count[u.Name]++
	}
	var done []string
	for _, u := range req.Users {
		if slices.Contains(done, u.Name) {
			continue
		}
		done = append(done, u.Name)
		res := kmsg.NewDescribeUserSCRAMCredentialsResponseResult()
		res.User = u.Name
		switch {
		case u.Name == "":
			res.ErrorCode, res.ErrorMessage = kerr.ResourceNotFound.Code, errMsg(usernameMustNotBeEmpty)
		case count[u.Name] > 1:
			res.ErrorCode = kerr.DuplicateResource.Code
			res.ErrorMessage = errMsg("Cannot describe SCRAM credentials for the same user twice in a single request: " + u.Name)
		case len(users[u.Name]) == 0:
			res.ErrorCode = kerr.ResourceNotFound.Code
			res.ErrorMessage = errMsg("Attempt to describe a user credential that does not exist: " + u.Name)
		default:
			res = scramResult(u.Name, users[u.Name])
		}
		out = append(out, res)
	}
	return out
}

func scramResult(user string, creds map[string]ScramCredential) kmsg.DescribeUserSCRAMCredentialsResponseResult {
	res := kmsg.NewDescribeUserSCRAMCredentialsResponseResult()
	res.User = user
	for _, m := range []string{MechanismSCRAMSHA256, MechanismSCRAMSHA512} {
		if c, ok := creds[m]; ok {
			info := kmsg.NewDescribeUserSCRAMCredentialsResponseResultCredentialInfo()
			info.Mechanism, info.Iterations = scramMechanismType(m), c.Iterations
			res.CredentialInfos = append(res.CredentialInfos, info)
		}
	}
	return res
}
