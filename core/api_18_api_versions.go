package core

import (
	"regexp"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// ApiVersions: v0-3
//
// Behavior:
//   - The response header is always v0 (no tagged fields), whatever the
//     request version, so that any client can parse it; the runtime's
//     codec encodes it so.
//   - A version newer than v3 is answered in the v0 format with
//     UNSUPPORTED_VERSION and the key list, so the client downgrades.
//   - v3 ClientSoftwareName and ClientSoftwareVersion must match Kafka's
//     pattern, else INVALID_REQUEST.

var softwarePattern = regexp.MustCompile(`^[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?$`)

func (b *Broker) handleApiVersions(r Request) {
	a, _ := findAPI(18)
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.ApiKeys = SupportedAPIs()
	v := r.Header.Version
	if v > a.max || r.Body == nil {
		resp.ErrorCode = errUnsupportedVersion
		resp.SetVersion(0)
		b.emit(Respond{Conn: r.Conn, Seq: r.Seq, CorrelationID: r.Header.CorrelationID, Body: resp})
		return
	}
	if v < a.min {
		b.emit(CloseConn{Conn: r.Conn, Seq: r.Seq, Reason: "negative ApiVersions version"})
		return
	}
	req := r.Body.(*kmsg.ApiVersionsRequest)
	if v >= 3 && (!softwarePattern.MatchString(req.ClientSoftwareName) || !softwarePattern.MatchString(req.ClientSoftwareVersion)) {
		resp.ErrorCode = errInvalidRequest
	}
	resp.FinalizedFeaturesEpoch = -1
	b.respond(r, resp)
}
