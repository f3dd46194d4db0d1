// Package plugin is the kit a plugin author writes a BlueKing system plugin
// with: one Go value per plugin version, typed inputs, and one Execute
// function, as in the Python framework's Plugin class.
//
// A version declares its semver version, a description, and three Go types:
// the inputs a user fills in, the context inputs the calling platform
// passes, and the outputs. Their JSON Schemas are generated from the types'
// json and jsonschema struct tags (see package schema), and every execute's
// inputs are validated and decoded before Execute runs, so Execute never
// unmarshals or checks them by hand.
//
// Execute decides what happens next, exactly like the Python execute method:
//
//   - return nil: the invocation ends SUCCESS with ctx.Outputs;
//   - return an error (or panic): it ends FAIL with the message;
//   - call ctx.WaitPoll(d) and return nil: Execute runs again after d, in
//     state POLL;
//   - call ctx.WaitCallback() and return nil: Execute runs again when a
//     callback prepared with ctx.PrepareCallback arrives, in state CALLBACK.
//
// ctx.Storage keeps JSON between executes and ctx.Outputs carries over too:
// plugin pods keep nothing in memory, the manager sends everything back with
// each execute (see package protocol).
//
// Package server serves a Plugin as a plugin pod, and package plugintest runs
// one through its whole life cycle in a test.
package plugin
