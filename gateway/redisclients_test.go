package gateway_test

import (
	"strings"
	"testing"

	"github.com/syncgate/syncgate/gateway"
)

// --redis, --redis-sentinel and --redis-cluster name three different ways to reach Redis:
// giving two is a mistake that must stop the start, naming the flag.
func TestParseConfigRedisModesExcludeEachOther(t *testing.T) {
	up := []string{"--upstream", "http://api/v1"}
	tests := []struct {
		name string
		args []string
		want string // in the error; "" = valid
	}{
		{"redis and cluster", append(up, "--redis", "redis://r:6379/0", "--redis-cluster", "a:7000"), "--redis-cluster: --redis, --redis-sentinel and --redis-cluster exclude each other"},
		{"sentinel and cluster", append(up, "--redis-sentinel", "m@s:26379", "--redis-cluster", "a:7000"), "exclude each other"},
		{"redis and sentinel", append(up, "--redis", "redis://r:6379/0", "--redis-sentinel", "m@s:26379"), "exclude each other"},
		{"sentinel without master", append(up, "--redis-sentinel", "s:26379"), "--redis-sentinel: want MASTER@HOST:PORT"},
		{"sentinel without address", append(up, "--redis-sentinel", "m@"), "--redis-sentinel"},
		{"cluster seed not an address", append(up, "--redis-cluster", "cache"), "--redis-cluster"},
		{"cluster seeds", append(up, "--redis-cluster", "a:7000, b:7001,rediss://u:p@c:7002"), ""},
		{"sentinel", append(up, "--redis-sentinel", "mymaster@s1:26379,s2:26379", "--redis-password", "pw"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := gateway.ParseConfig(tt.args, envOf(nil))
			if tt.want == "" {
				if err != nil {
					t.Fatalf("ParseConfig(%q) = %v, want valid", tt.args, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParseConfig(%q) = %v, want an error containing %q", tt.args, err, tt.want)
			}
		})
	}
}
