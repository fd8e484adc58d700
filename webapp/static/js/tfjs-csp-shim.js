// Lets TF.js load under our Content-Security-Policy, which has no 'unsafe-eval'.
//
// tf.min.js (the ES5 bundle) installs the global `regeneratorRuntime` with a plain
// assignment; in strict mode that throws when the global does not exist yet, and its
// fallback, Function("r", "regeneratorRuntime = r"), is an eval the CSP refuses, so TF.js
// would fail to load at all. Declaring the global first makes the plain assignment work.
// (The ES2017 bundle, tf.es2017.min.js, has no such code and would need no shim.)
globalThis.regeneratorRuntime = undefined;
