package drive

import (
	"context"
	"fmt"
	"net/http"

	"golang.org/x/oauth2"
	drivev3 "google.golang.org/api/drive/v3"
	"google.golang.org/api/option"
)

// DefaultService is the production Config.NewService: Google's endpoint,
// authorized by ts (which refreshes the token as needed).
func DefaultService(ctx context.Context, ts oauth2.TokenSource) (*drivev3.Service, error) {
	svc, err := drivev3.NewService(ctx, option.WithTokenSource(ts))
	if err != nil {
		return nil, fmt.Errorf("drive: new Drive client: %w", err)
	}
	return svc, nil
}

// EndpointService returns a Config.NewService that sends every call to
// endpoint (for example a fake Drive's ".../drive/v3/") over base
// (http.DefaultTransport when nil), adding ts's bearer token to each.
func EndpointService(endpoint string, base http.RoundTripper) func(context.Context, oauth2.TokenSource) (*drivev3.Service, error) {
	if base == nil {
		base = http.DefaultTransport
	}
	return func(ctx context.Context, ts oauth2.TokenSource) (*drivev3.Service, error) {
		hc := &http.Client{Transport: &oauth2.Transport{Source: ts, Base: base}}
		svc, err := drivev3.NewService(ctx, option.WithEndpoint(endpoint), option.WithHTTPClient(hc))
		if err != nil {
			return nil, fmt.Errorf("drive: new Drive client for %s: %w", endpoint, err)
		}
		return svc, nil
	}
}
