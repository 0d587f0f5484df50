package realio

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"
	"time"

	"cloudkafka/core"
)

// TLS for SSL listeners (and the inter-broker client), from Kafka's
// ssl.* settings in PEM form (core.TLSSettings). Only crypto/tls and
// crypto/x509: TLS 1.2 is the minimum whatever the settings say.

// tlsHandshakeTimeout bounds a TLS handshake on an accepted connection.
const tlsHandshakeTimeout = 10 * time.Second

// pemFileBytesMax bounds a keystore or truststore file.
const pemFileBytesMax = 1 << 20

// loadStores loads a listener's keystore and truststore.
func loadStores(t core.TLSSettings) (tls.Certificate, *x509.CertPool, error) {
	cert, err := loadKeystore(t)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	roots, err := loadTruststore(t)
	return cert, roots, err
}

// serverTLS is the tls.Config of a listener.
func serverTLS(t core.TLSSettings) (*tls.Config, error) {
	cert, roots, err := loadStores(t)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: roots}
	switch t.ClientAuth {
	case core.ClientAuthRequired:
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	case core.ClientAuthRequested:
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
	default:
		cfg.ClientAuth = tls.NoClientCert
	}
	if err := setVersionsAndSuites(cfg, t); err != nil {
		return nil, err
	}
	return cfg, nil
}

// clientTLS is the tls.Config a broker dials other brokers with on a TLS
// inter-broker listener: its own keystore as client certificate, its
// truststore (the system's roots without one), and the server's host
// name checked when ssl.endpoint.identification.algorithm is https.
func clientTLS(t core.TLSSettings) (*tls.Config, error) {
	cert, roots, err := loadStores(t)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: roots}
	if t.EndpointIdentAlgo == "" {
		// The chain is verified, the host name not (Kafka's empty
		// ssl.endpoint.identification.algorithm).
		cfg.InsecureSkipVerify = true
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("the server sent no certificate")
			}
			opts := x509.VerifyOptions{Roots: roots, Intermediates: x509.NewCertPool()}
			for _, c := range cs.PeerCertificates[1:] {
				opts.Intermediates.AddCert(c)
			}
			_, err := cs.PeerCertificates[0].Verify(opts)
			return err
		}
	}
	if err := setVersionsAndSuites(cfg, t); err != nil {
		return nil, err
	}
	return cfg, nil
}

// setVersionsAndSuites applies ssl.enabled.protocols (TLS 1.2 and 1.3
// only) and ssl.cipher.suites (IANA names, which Java uses too). TLS 1.3
// suites are always on in Go; naming only those turns TLS 1.2 off.
func setVersionsAndSuites(cfg *tls.Config, t core.TLSSettings) error {
	lo, hi := t.TLSMinMax()
	if lo > hi {
		return fmt.Errorf("ssl.enabled.protocols %v enables no TLS version", t.EnabledProtocols)
	}
	cfg.MinVersion, cfg.MaxVersion = max(lo, tls.VersionTLS12), hi
	if len(t.CipherSuites) == 0 {
		return nil
	}
	byName := map[string]*tls.CipherSuite{}
	for _, cs := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		byName[cs.Name] = cs
	}
	var tls12 []uint16
	for _, name := range t.CipherSuites {
		cs, ok := byName[name]
		if !ok {
			return fmt.Errorf("ssl.cipher.suites: %s is not supported", name)
		}
		if cs.Insecure {
			return fmt.Errorf("ssl.cipher.suites: %s is insecure and not served", name)
		}
		for _, v := range cs.SupportedVersions {
			if v == tls.VersionTLS12 {
				tls12 = append(tls12, cs.ID)
				break
			}
		}
	}
	if len(tls12) == 0 {
		if hi < tls.VersionTLS13 {
			return fmt.Errorf("ssl.cipher.suites names no TLS 1.2 suite, and TLS 1.3 is not enabled")
		}
		cfg.MinVersion = tls.VersionTLS13
	}
	cfg.CipherSuites = tls12
	return nil
}

// loadKeystore reads the PEM private key and certificate chain.
func loadKeystore(t core.TLSSettings) (tls.Certificate, error) {
	chain, key := t.KeystoreChain, t.KeystoreKey
	where := "ssl.keystore.certificate.chain and ssl.keystore.key"
	if t.KeystoreLocation != "" {
		b, err := readPEMFile(t.KeystoreLocation)
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("ssl.keystore.location: %w", err)
		}
		chain, key, where = string(b), string(b), "ssl.keystore.location "+t.KeystoreLocation
	}
	var cert tls.Certificate
	for rest := []byte(chain); ; {
		var blk *pem.Block
		if blk, rest = pem.Decode(rest); blk == nil {
			break
		}
		if blk.Type == "CERTIFICATE" {
			cert.Certificate = append(cert.Certificate, blk.Bytes)
		}
	}
	if len(cert.Certificate) == 0 {
		return cert, fmt.Errorf("%s: at least one certificate expected, but none found", where)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return cert, fmt.Errorf("%s: certificate: %w", where, err)
	}
	cert.Leaf = leaf
	if cert.PrivateKey, err = parsePrivateKey(key, t.KeyPassword); err != nil {
		return cert, fmt.Errorf("%s: %w", where, err)
	}
	// The key must be the leaf certificate's.
	if _, err := tls.X509KeyPair(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), marshalKey(cert.PrivateKey)); err != nil {
		return cert, fmt.Errorf("%s: %w", where, err)
	}
	return cert, nil
}

func marshalKey(k crypto.PrivateKey) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// parsePrivateKey reads the one private key of a PEM text: PKCS#8
// ("PRIVATE KEY", or "ENCRYPTED PRIVATE KEY" with ssl.key.password), as
// Kafka reads it, and also PKCS#1 and SEC 1 keys.
func parsePrivateKey(text, password string) (crypto.PrivateKey, error) {
	var keys []*pem.Block
	for rest := []byte(text); ; {
		var blk *pem.Block
		if blk, rest = pem.Decode(rest); blk == nil {
			break
		}
		if strings.HasSuffix(blk.Type, "PRIVATE KEY") {
			keys = append(keys, blk)
		}
	}
	if len(keys) != 1 {
		return nil, fmt.Errorf("expected one private key, but found %d", len(keys))
	}
	der := keys[0].Bytes
	switch keys[0].Type {
	case "ENCRYPTED PRIVATE KEY":
		if password == "" {
			return nil, errors.New("the private key is encrypted: set ssl.key.password")
		}
		der, err := decryptPKCS8(der, []byte(password))
		if err != nil {
			return nil, err
		}
		k, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			// A wrong password leaves valid CBC padding about once in
			// 256 tries, and then bytes that are no key.
			return nil, fmt.Errorf("encrypted private key: wrong ssl.key.password (the decrypted key does not parse: %v)", err)
		}
		return k, nil
	case "RSA PRIVATE KEY":
		return x509.ParsePKCS1PrivateKey(der)
	case "EC PRIVATE KEY":
		return x509.ParseECPrivateKey(der)
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("private key could not be loaded: %w", err)
	}
	return k, nil
}

// loadTruststore reads the PEM CA certificates; none configured is nil:
// the system's roots.
func loadTruststore(t core.TLSSettings) (*x509.CertPool, error) {
	text, where := t.TruststoreCerts, "ssl.truststore.certificates"
	if t.TruststoreLoc != "" {
		b, err := readPEMFile(t.TruststoreLoc)
		if err != nil {
			return nil, fmt.Errorf("ssl.truststore.location: %w", err)
		}
		text, where = string(b), "ssl.truststore.location "+t.TruststoreLoc
	}
	if text == "" {
		return nil, nil
	}
	pool := x509.NewCertPool()
	n := 0
	for rest := []byte(text); ; {
		var blk *pem.Block
		if blk, rest = pem.Decode(rest); blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		pool.AddCert(c)
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("%s: at least one certificate expected, but none found", where)
	}
	return pool, nil
}

func readPEMFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, pemFileBytesMax+1))
	if err != nil {
		return nil, err
	}
	if len(b) > pemFileBytesMax {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, pemFileBytesMax)
	}
	return b, nil
}

// The PKCS#8 encryption (RFC 8018's PBES2 with PBKDF2) that openssl and
// Java write: AES-128/192/256-CBC or DES-EDE3-CBC, HMAC-SHA1/224/256/
// 384/512.
var (
	oidPBES2       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidHMACSHA1    = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}
	oidHMACSHA224  = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 8}
	oidHMACSHA256  = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidHMACSHA384  = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 10}
	oidHMACSHA512  = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 11}
	oidAES128CBC   = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	oidAES192CBC   = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 22}
	oidAES256CBC   = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
	oidDESEDE3CBC  = asn1.ObjectIdentifier{1, 2, 840, 113549, 3, 7}
	pbkdf2IterMax  = 10_000_000 // bounds the work a key file can ask for
	errPKCS8Format = errors.New("encrypted private key: not PBES2 with PBKDF2 (use openssl pkcs8 -topk8 -v2 aes-256-cbc)")
)

type encryptedPrivateKeyInfo struct {
	Algorithm struct {
		Algorithm  asn1.ObjectIdentifier
		Parameters asn1.RawValue
	}
	Data []byte
}

type pbes2Params struct {
	KDF struct {
		Algorithm asn1.ObjectIdentifier
		Params    pbkdf2Params
	}
	Cipher struct {
		Algorithm asn1.ObjectIdentifier
		IV        []byte
	}
}

type pbkdf2Params struct {
	Salt      []byte
	Iter      int
	KeyLength int `asn1:"optional"`
	PRF       struct {
		Algorithm  asn1.ObjectIdentifier
		Parameters asn1.RawValue `asn1:"optional"`
	} `asn1:"optional"`
}

// decryptPKCS8 decrypts an EncryptedPrivateKeyInfo into PKCS#8 DER.
func decryptPKCS8(der, password []byte) ([]byte, error) {
	var info encryptedPrivateKeyInfo
	if rest, err := asn1.Unmarshal(der, &info); err != nil || len(rest) > 0 || !info.Algorithm.Algorithm.Equal(oidPBES2) {
		return nil, errPKCS8Format
	}
	var p pbes2Params
	if _, err := asn1.Unmarshal(info.Algorithm.Parameters.FullBytes, &p); err != nil || !p.KDF.Algorithm.Equal(oidPBKDF2) {
		return nil, errPKCS8Format
	}
	var keyLen int
	var newBlock func([]byte) (cipher.Block, error)
	switch c := p.Cipher.Algorithm; {
	case c.Equal(oidAES128CBC):
		keyLen, newBlock = 16, aes.NewCipher
	case c.Equal(oidAES192CBC):
		keyLen, newBlock = 24, aes.NewCipher
	case c.Equal(oidAES256CBC):
		keyLen, newBlock = 32, aes.NewCipher
	case c.Equal(oidDESEDE3CBC):
		keyLen, newBlock = 24, des.NewTripleDESCipher
	default:
		return nil, errPKCS8Format
	}
	prf := func() hash.Hash { return sha1.New() }
	switch o := p.KDF.Params.PRF.Algorithm; {
	case len(o) == 0 || o.Equal(oidHMACSHA1):
	case o.Equal(oidHMACSHA224):
		prf = sha256.New224
	case o.Equal(oidHMACSHA256):
		prf = sha256.New
	case o.Equal(oidHMACSHA384):
		prf = sha512.New384
	case o.Equal(oidHMACSHA512):
		prf = sha512.New
	default:
		return nil, errPKCS8Format
	}
	if it := p.KDF.Params.Iter; it < 1 || it > pbkdf2IterMax {
		return nil, fmt.Errorf("encrypted private key: %d PBKDF2 iterations (1 to %d)", it, pbkdf2IterMax)
	}
	key, err := pbkdf2.Key(prf, string(password), p.KDF.Params.Salt, p.KDF.Params.Iter, keyLen)
	if err != nil {
		return nil, err
	}
	block, err := newBlock(key)
	if err != nil {
		return nil, err
	}
	data := info.Data
	if len(p.Cipher.IV) != block.BlockSize() || len(data) == 0 || len(data)%block.BlockSize() != 0 {
		return nil, errPKCS8Format
	}
	out := make([]byte, len(data))
	cipher.NewCBCDecrypter(block, p.Cipher.IV).CryptBlocks(out, data)
	pad := int(out[len(out)-1])
	if pad < 1 || pad > block.BlockSize() {
		return nil, errors.New("encrypted private key: wrong ssl.key.password")
	}
	for _, b := range out[len(out)-pad:] {
		if int(b) != pad {
			return nil, errors.New("encrypted private key: wrong ssl.key.password")
		}
	}
	return out[:len(out)-pad], nil
}

// rdnKeywords are the attribute names RFC 2253 defines, which Java's
// X500Principal.getName() writes by name; other attributes are written
// as the dotted OID and the value's DER in hex.
var rdnKeywords = map[string]string{
	"2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.10": "O", "2.5.4.11": "OU",
	"2.5.4.9": "STREET", "0.9.2342.19200300.100.1.25": "DC", "0.9.2342.19200300.100.1.1": "UID",
}

type rdnAttribute struct {
	Type  asn1.ObjectIdentifier
	Value asn1.RawValue
}

type rdnSET []rdnAttribute

// subjectDN is a certificate's subject as Kafka's principal builder sees
// it, Java's RFC 2253 form: the last RDN first, attributes of one RDN
// joined by '+', special characters escaped with '\'.
func subjectDN(c *x509.Certificate) (string, error) {
	var seq []rdnSET
	if rest, err := asn1.Unmarshal(c.RawSubject, &seq); err != nil || len(rest) > 0 {
		return "", fmt.Errorf("certificate subject does not parse: %v", err)
	}
	parts := make([]string, 0, len(seq))
	for i := len(seq) - 1; i >= 0; i-- {
		attrs := make([]string, 0, len(seq[i]))
		for _, a := range seq[i] {
			attrs = append(attrs, rdnAttributeString(a))
		}
		parts = append(parts, strings.Join(attrs, "+"))
	}
	return strings.Join(parts, ","), nil
}

func rdnAttributeString(a rdnAttribute) string {
	kw, known := rdnKeywords[a.Type.String()]
	var s string
	if known {
		if _, err := asn1.Unmarshal(a.Value.FullBytes, &s); err == nil {
			return kw + "=" + escapeRDN(s)
		}
	}
	if kw == "" {
		kw = a.Type.String()
	}
	return kw + "=#" + hex.EncodeToString(a.Value.FullBytes)
}

// escapeRDN escapes an attribute value as RFC 2253 section 2.4 says.
func escapeRDN(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case strings.ContainsRune(",+\"\\<>;", r),
			i == 0 && (r == ' ' || r == '#'),
			i == len(s)-1 && r == ' ':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// tlsPrincipal is who a TLS connection authenticated as: "User:" and
// the client certificate's subject mapped by ssl.principal.mapping.rules,
// or User:ANONYMOUS without a client certificate, as Kafka's
// DefaultKafkaPrincipalBuilder says.
func tlsPrincipal(cs tls.ConnectionState, m *core.PrincipalMapper) (string, error) {
	if len(cs.PeerCertificates) == 0 {
		return core.PrincipalAnonymous, nil
	}
	dn, err := subjectDN(cs.PeerCertificates[0])
	if err != nil {
		return "", err
	}
	name, err := m.Name(dn)
	if err != nil {
		return "", err
	}
	return "User:" + name, nil
}

// tlsVersionName names a negotiated TLS version for logs ("TLS 1.3").
func tlsVersionName(v uint16) string { return tls.VersionName(v) }
