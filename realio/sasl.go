package realio

import (
	"fmt"
	"net"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/xdg-go/scram"

	"cloudkafka/core"
)

// peerSASL authenticates this broker to a peer on a SASL inter-broker
// listener, as Kafka's brokers do: SaslHandshake v1 with
// sasl.mechanism.inter.broker.protocol, then SaslAuthenticate v1 with
// the username and password options of the listener's JAAS
// configuration for that mechanism (PlainLoginModule or
// ScramLoginModule). The SCRAM client is xdg-go/scram's, its nonces from
// crypto/rand.
func (s *Server) peerSASL(nc net.Conn) error {
	mech := s.cfg.SASLConfig.InterBrokerMechanism
	jaas := s.cfg.SASL[s.cfg.InterBrokerListener].Jaas[mech]
	user, pass := jaas.Options["username"], jaas.Options["password"]
	clientID := fmt.Sprintf("broker-%d-sasl", s.cfg.BrokerID)
	hs := kmsg.NewPtrSASLHandshakeRequest()
	hs.Version, hs.Mechanism = 1, mech
	r, err := roundTrip(nc, 1, clientID, hs)
	if err != nil {
		return err
	}
	if err := kerr.ErrorForCode(r.(*kmsg.SASLHandshakeResponse).ErrorCode); err != nil {
		return fmt.Errorf("SaslHandshake %s: %w", mech, err)
	}
	step := func(corr int32, tok []byte) ([]byte, error) {
		req := kmsg.NewPtrSASLAuthenticateRequest()
		req.Version, req.SASLAuthBytes = 1, tok
		r, err := roundTrip(nc, corr, clientID, req)
		if err != nil {
			return nil, err
		}
		resp := r.(*kmsg.SASLAuthenticateResponse)
		if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
			msg := ""
			if resp.ErrorMessage != nil {
				msg = ": " + *resp.ErrorMessage
			}
			return nil, fmt.Errorf("SaslAuthenticate as %s with %s: %w%s", user, mech, err, msg)
		}
		return resp.SASLAuthBytes, nil
	}
	if mech == core.MechanismPlain {
		_, err := step(2, []byte("\x00"+user+"\x00"+pass))
		return err
	}
	hash := scram.SHA256
	if mech == core.MechanismSCRAMSHA512 {
		hash = scram.SHA512
	}
	client, err := hash.NewClient(user, pass, "")
	if err != nil {
		return err
	}
	conv := client.NewConversation()
	var in []byte
	for corr := int32(2); !conv.Done(); corr++ {
		out, err := conv.Step(string(in))
		if err != nil {
			return fmt.Errorf("SCRAM as %s: %w", user, err)
		}
		if conv.Done() {
			break // the server's final message verified
		}
		if in, err = step(corr, []byte(out)); err != nil {
			return err
		}
	}
	return nil
}
