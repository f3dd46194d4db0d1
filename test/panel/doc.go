// Package panel tests the shim's debug panel (internal/shim/ui) in
// a real browser against the real local stack: it starts hack/localstack,
// drives Debian's chromium headless with chromedp through the example
// plugins, and saves screenshots to artifacts/panel/. It holds only tests.
//
//	KUBEBUILDER_ASSETS=$(hack/setup-envtest.sh) go test -tags envtest ./test/panel/
//
// CHROMIUM_PATH names the browser when it is not chromium on the PATH;
// `make chromium` installs Debian's. PANEL_UPDATE_DOCS=1 also copies the
// desktop screenshot to docs/panel.png, the README's picture.
package panel
