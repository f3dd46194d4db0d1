package identity

// Source names what vouched for an Identity.
type Source string

// The sources of an Identity, strongest first.
const (
	// SourceGateway is a verified X-Bkapi-JWT of the BlueKing API gateway.
	SourceGateway Source = "gateway-jwt"
	// SourceToken is a bearer token from the shim's token file.
	SourceToken Source = "bearer-token"
	// SourceHeaders is the caller's own identity headers, read only in the
	// shim's dev-only --trust-identity-headers mode.
	SourceHeaders Source = "unverified-headers"
	// SourceNone is a request that carried no credential (a public route,
	// a callback, or a shim run with --insecure-no-auth).
	SourceNone Source = ""
)

// Identity is who a request comes from, as far as it could be verified.
// Empty fields mean "not verified", never "anyone".
type Identity struct {
	// AppCode is the calling app (platform), verified; "" when none.
	AppCode string
	// Username is the user the app calls for, verified by the gateway;
	// "" when none.
	Username string
	// Source is what vouched for AppCode and Username.
	Source Source
	// GatewayJWT is the caller's X-Bkapi-JWT when it verified, passed on
	// unchanged to plugin APIs so that a plugin can call other BlueKing
	// APIs as the user (the Python framework's inject_user_token).
	GatewayJWT string
}

// Verified reports whether some credential vouched for the request.
func (id Identity) Verified() bool {
	return id.Source == SourceGateway || id.Source == SourceToken
}
