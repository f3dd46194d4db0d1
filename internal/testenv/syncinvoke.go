package testenv

import "os"

// SyncInvokeEnv names the environment variable that picks the shim's
// --sync-invoke in every suite that starts a shim: "direct" (the default)
// or "cluster". `make test` runs those suites in both modes.
const SyncInvokeEnv = "BKPLUGIN_TEST_SYNC_INVOKE"

// SyncInvokeMode is the --sync-invoke the suites run their shims with:
// SyncInvokeEnv's value, "direct" when unset.
func SyncInvokeMode() string {
	if v := os.Getenv(SyncInvokeEnv); v != "" {
		return v
	}
	return "direct"
}
