package realio

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"strings"
	"testing"
)

// encryptPKCS8 writes der (PKCS#8) as openssl pkcs8 -topk8 -v2
// aes-256-cbc does: PBES2 with PBKDF2 (HMAC-SHA256) and AES-256-CBC,
// padded as PKCS#5 says. The end-to-end tests use openssl itself; this
// one lets a unit test choose passwords by the thousand.
func encryptPKCS8(t *testing.T, der []byte, password string, iter int) string {
	t.Helper()
	salt, iv := make([]byte, 8), make([]byte, aes.BlockSize)
	rand.Read(salt)
	rand.Read(iv)
	key, err := pbkdf2.Key(sha256.New, password, salt, iter, 32)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := aes.NewCipher(key)
	pad := aes.BlockSize - len(der)%aes.BlockSize
	data := append([]byte{}, der...)
	for range pad {
		data = append(data, byte(pad))
	}
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(data, data)
	var p pbes2Params
	p.KDF.Algorithm = oidPBKDF2
	p.KDF.Params.Salt, p.KDF.Params.Iter = salt, iter
	p.KDF.Params.PRF.Algorithm = oidHMACSHA256
	p.KDF.Params.PRF.Parameters = asn1.NullRawValue
	p.Cipher.Algorithm, p.Cipher.IV = oidAES256CBC, iv
	params, err := asn1.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var info encryptedPrivateKeyInfo
	info.Algorithm.Algorithm = oidPBES2
	info.Algorithm.Parameters = asn1.RawValue{FullBytes: params}
	info.Data = data
	out, err := asn1.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: out}))
}

// TestEncryptedKeyWrongPassword: an encrypted PKCS#8 key opens with its
// password; every wrong password is reported as such, including one
// whose decryption happens to end in valid CBC padding (about one in
// 256 does), which leaves bytes that are no key.
func TestEncryptedKeyWrongPassword(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	const iter = 16 // cheap: the test tries thousands of passwords
	text := encryptPKCS8(t, der, "right", iter)
	got, err := parsePrivateKey(text, "right")
	if err != nil || !k.Equal(got) {
		t.Fatalf("the right password: got %v, %v; want the key", got, err)
	}

	// A wrong password whose padding passes: found by trying, and
	// counted so that the test proves it checked that case.
	paddingPassed := 0
	for i := 0; i < 10_000 && paddingPassed == 0; i++ {
		password := fmt.Sprintf("wrong-%d", i)
		if _, err := decryptPKCS8(mustPEM(t, text), []byte(password)); err == nil {
			paddingPassed++
		}
		if _, err := parsePrivateKey(text, password); err == nil || !strings.Contains(err.Error(), "wrong ssl.key.password") {
			t.Fatalf("password %q: got %v; want an error saying wrong ssl.key.password", password, err)
		}
	}
	if paddingPassed == 0 {
		t.Fatal("no wrong password among 10000 decrypted with valid padding; want about one in 256")
	}
}

func mustPEM(t *testing.T, text string) []byte {
	t.Helper()
	blk, _ := pem.Decode([]byte(text))
	if blk == nil {
		t.Fatal("no PEM block")
	}
	return blk.Bytes
}
