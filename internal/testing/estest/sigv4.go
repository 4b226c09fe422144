package estest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// SigV4 is what the server checks AWS Signature Version 4 signatures against. The check
// is written from AWS's description of the algorithm (canonical request, string to
// sign, derived key), independently of the SDK that signs, so that a test catches a
// signer used wrongly (a payload hash of the wrong bytes, a header changed after
// signing, the wrong scope).
type SigV4 struct {
	Region, Service              string
	AccessKeyID, SecretAccessKey string
	// SessionToken, when set, must arrive as X-Amz-Security-Token.
	SessionToken string
}

const sigV4Mismatch = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."

// verify checks r's Authorization header against the body as sent (still compressed).
func (v *SigV4) verify(r *http.Request, body []byte, now time.Time) error {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return errors.New("Missing Authentication Token")
	}
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return errors.New("Authorization header requires the AWS4-HMAC-SHA256 algorithm")
	}
	fields := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, val, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = val
	}
	cred := strings.Split(fields["Credential"], "/")
	if len(cred) != 5 || cred[4] != "aws4_request" {
		return fmt.Errorf("Authorization header has a malformed Credential %q", fields["Credential"])
	}
	if cred[0] != v.AccessKeyID {
		return errors.New("The security token included in the request is invalid.")
	}
	amzDate := r.Header.Get("X-Amz-Date")
	t, err := time.Parse("20060102T150405Z", amzDate)
	if err != nil {
		return errors.New("Authorization header requires an X-Amz-Date header in ISO 8601 basic format")
	}
	if d := now.Sub(t); d > 5*time.Minute || d < -5*time.Minute {
		return errors.New("Signature expired")
	}
	if cred[1] != amzDate[:8] || cred[2] != v.Region || cred[3] != v.Service {
		return fmt.Errorf("Credential should be scoped to a valid region, service and date: got %s/%s/%s, want %s/%s/%s",
			cred[1], cred[2], cred[3], amzDate[:8], v.Region, v.Service)
	}
	if v.SessionToken != "" && r.Header.Get("X-Amz-Security-Token") != v.SessionToken {
		return errors.New("The security token included in the request is invalid.")
	}
	signed := strings.Split(fields["SignedHeaders"], ";")
	if !sort.StringsAreSorted(signed) || !contains(signed, "host") || !contains(signed, "x-amz-date") {
		return errors.New("SignedHeaders must be sorted and include host and x-amz-date")
	}
	if r.Header.Get("X-Amz-Security-Token") != "" && !contains(signed, "x-amz-security-token") {
		return errors.New("X-Amz-Security-Token must be signed")
	}

	sum := sha256.Sum256(body)
	payload := hex.EncodeToString(sum[:])
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" && h != payload {
		return errors.New("The provided 'x-amz-content-sha256' header does not match what was computed.")
	} else if h == "" && v.Service == "aoss" {
		// OpenSearch Serverless requires the payload hash header.
		return errors.New("Missing x-amz-content-sha256 header")
	}

	var canon strings.Builder
	canon.WriteString(r.Method + "\n")
	canon.WriteString(canonicalPath(r.URL.EscapedPath()) + "\n")
	canon.WriteString(canonicalQuery(r.URL.RawQuery) + "\n")
	for _, h := range signed {
		canon.WriteString(h + ":" + headerValue(r, h) + "\n")
	}
	canon.WriteString("\n" + fields["SignedHeaders"] + "\n" + payload)

	scope := strings.Join(cred[1:], "/")
	creq := sha256.Sum256([]byte(canon.String()))
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(creq[:])
	key := mac([]byte("AWS4"+v.SecretAccessKey), cred[1])
	for _, s := range cred[2:] {
		key = mac(key, s)
	}
	want := hex.EncodeToString(mac(key, toSign))
	if !hmac.Equal([]byte(want), []byte(fields["Signature"])) {
		return errors.New(sigV4Mismatch)
	}
	return nil
}

func mac(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// headerValue is a signed header's canonical value: values joined by commas, spaces
// trimmed and runs of spaces collapsed.
func headerValue(r *http.Request, name string) string {
	var vals []string
	switch name {
	case "host":
		vals = []string{r.Host}
	case "content-length":
		vals = []string{strconv.FormatInt(r.ContentLength, 10)}
	default:
		vals = r.Header.Values(name)
	}
	for i, v := range vals {
		vals[i] = strings.Join(strings.Fields(v), " ")
	}
	return strings.Join(vals, ",")
}

// canonicalPath URI-encodes the path as received once more: every service but S3 signs
// the path encoded twice.
func canonicalPath(escaped string) string {
	if escaped == "" {
		return "/"
	}
	return uriEncode(escaped, false)
}

func canonicalQuery(raw string) string {
	if raw == "" {
		return ""
	}
	q, _ := url.ParseQuery(raw)
	var pairs []string
	for k, vs := range q {
		for _, v := range vs {
			pairs = append(pairs, uriEncode(k, true)+"="+uriEncode(v, true))
		}
	}
	sort.Strings(pairs)
	return strings.Join(pairs, "&")
}

// uriEncode is RFC 3986 encoding of everything but unreserved characters (and / in a
// path).
func uriEncode(s string, encodeSlash bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == '~':
			b.WriteByte(c)
		case c == '/' && !encodeSlash:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
