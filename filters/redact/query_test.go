package redact

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// TestRequestURIQueryCredentials: the preset replaces the values of credential query
// parameters in every event's requestURI (names compared case-insensitively after
// percent-decoding) and keeps every other byte of the URI; kube-apiserver's own
// parameters and exec's command stay.
func TestRequestURIQueryCredentials(t *testing.T) {
	const m = "%5BREDACTED%5D"
	tests := []struct{ name, uri, want string }{
		{"access_token", "/api/v1/namespaces/x/pods?access_token=CANARY-1", "/api/v1/namespaces/x/pods?access_token=" + m},
		{"token among kube params", "/api/v1/namespaces/x/pods?labelSelector=app%3Dweb&token=CANARY-1&limit=500&watch=true", "/api/v1/namespaces/x/pods?labelSelector=app%3Dweb&token=" + m + "&limit=500&watch=true"},
		{"id_token upper case", "/apis/apps/v1/deployments?ID_TOKEN=CANARY-1", "/apis/apps/v1/deployments?ID_TOKEN=" + m},
		{"percent-encoded name", "/api/v1/pods?%61ccess%5Ftoken=CANARY-1&timeout=30s", "/api/v1/pods?%61ccess%5Ftoken=" + m + "&timeout=30s"},
		{"percent-encoded value", "/api/v1/pods?token=CAN%41RY%2B1", "/api/v1/pods?token=" + m},
		{"refresh_token and client_secret", "/api?refresh_token=A&client_secret=B&resourceVersion=1", "/api?refresh_token=" + m + "&client_secret=" + m + "&resourceVersion=1"},
		{"password passwd secret", "/x?password=a&passwd=b&secret=c&pwd=d", "/x?password=" + m + "&passwd=" + m + "&secret=" + m + "&pwd=" + m},
		{"api keys", "/x?api_key=a&apikey=b&key=c&X-Api-Key=d", "/x?api_key=" + m + "&apikey=" + m + "&key=" + m + "&X-Api-Key=" + m},
		{"presigned url", "/x?X-Amz-Credential=a&X-Amz-Signature=b&X-Amz-Security-Token=c&X-Amz-Date=20260101", "/x?X-Amz-Credential=" + m + "&X-Amz-Signature=" + m + "&X-Amz-Security-Token=" + m + "&X-Amz-Date=20260101"},
		{"semicolon separator", "/api/v1/pods?limit=1;access_token=CANARY-1", "/api/v1/pods?limit=1;access_token=" + m},
		{"fragment", "/oauth/callback#access_token=CANARY-1&state=s", "/oauth/callback#access_token=" + m + "&state=s"},
		{"second question mark", "/api/v1/pods?watch=1?token=CANARY-1", "/api/v1/pods?watch=1?token=" + m},
		{"repeated parameter", "/x?token=a&token=b", "/x?token=" + m + "&token=" + m},
		{"plus in name", "/x?access+token=a", "/x?access+token=" + m},
		{"service proxy", "/api/v1/namespaces/x/services/http:web:80/proxy/login?user=bob&password=CANARY-1", "/api/v1/namespaces/x/services/http:web:80/proxy/login?user=bob&password=" + m},
		// Kept as they are.
		{"kube params", "/api/v1/namespaces/x/pods?labelSelector=a%3Db&fieldSelector=status.phase%3DRunning&resourceVersion=12&timeoutSeconds=30&watch=true&limit=500&continue=eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ&dryRun=All&fieldManager=kubectl&propagationPolicy=Foreground&allowWatchBookmarks=true", ""},
		{"exec command", "/api/v1/namespaces/x/pods/p/exec?command=sh&command=-c&command=echo%20secret&container=c&stdin=true&stdout=true&tty=true", ""},
		{"no query", "/api/v1/namespaces/x/secrets/token-abc", ""},
		{"empty value and no value", "/x?token=&access_token&limit=1", ""},
		{"bad escape elsewhere", "/x?labelSelector=%zz&limit=1", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.want
			if want == "" {
				want = tc.uri
			}
			line := `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"q1","stage":"ResponseComplete","verb":"get","requestURI":` + jsonString(t, tc.uri) + `,"user":{"username":"u"},"responseStatus":{"metadata":{},"code":200}}`
			ev := auditEvent(t, line)
			if keep, err := presetFilter(t, "mask").Apply(ev); err != nil || !keep {
				t.Fatalf("keep=%v err=%v", keep, err)
			}
			var got, wantEv map[string]any
			if err := json.Unmarshal([]byte(encode(t, ev)), &got); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(line), &wantEv); err != nil {
				t.Fatal(err)
			}
			wantEv["requestURI"] = want
			if !reflect.DeepEqual(got, wantEv) {
				t.Errorf("got  %v\nwant %v", got, wantEv)
			}
		})
	}
}

// TestRequestURIQueryActions: remove empties the value and keeps the name; hash writes
// the keyed digest of the percent-decoded value (equal tokens stay comparable however
// they were encoded); a secrets event gets both the URI and its body treated.
func TestRequestURIQueryActions(t *testing.T) {
	line := func(uri string) string {
		return `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"q2","stage":"ResponseComplete","verb":"get","requestURI":"` + uri + `","objectRef":{"resource":"secrets","namespace":"x","name":"s","apiVersion":"v1"},"responseObject":{"kind":"Secret","apiVersion":"v1","metadata":{"name":"s"},"data":{"k":"Q0FOQVJZLTI="}}}`
	}
	uriOf := func(t *testing.T, action, uri string) string {
		ev := auditEvent(t, line(uri))
		if _, err := presetFilter(t, action).Apply(ev); err != nil {
			t.Fatal(err)
		}
		out := encode(t, ev)
		if strings.Contains(out, "CANARY") || strings.Contains(out, "Q0FOQVJZLTI=") {
			t.Fatalf("%s: leaked: %s", action, out)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatal(err)
		}
		return m["requestURI"].(string)
	}
	if got, want := uriOf(t, "remove", "/api/v1/namespaces/x/secrets/s?access_token=CANARY-1&limit=1"), "/api/v1/namespaces/x/secrets/s?access_token=&limit=1"; got != want {
		t.Errorf("remove: got %s want %s", got, want)
	}
	h1 := uriOf(t, "hash", "/api/v1/namespaces/x/secrets/s?token=CANARY-1")
	h2 := uriOf(t, "hash", "/api/v1/namespaces/x/secrets/s?token=CAN%41RY-1")
	if !strings.HasPrefix(h1, "/api/v1/namespaces/x/secrets/s?token="+hashPrefix) || h1 != h2 {
		t.Errorf("hash: %s and %s", h1, h2)
	}
	if got, want := uriOf(t, "mask", "/api/v1/namespaces/x/secrets/s?token=CANARY-1"), "/api/v1/namespaces/x/secrets/s?token=%5BREDACTED%5D"; got != want {
		t.Errorf("mask: got %s want %s", got, want)
	}
}

func jsonString(t *testing.T, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
