// Package tlsfiles builds the TLS configurations of Herald's servers and
// clients from PEM files.
//
// Server serves the certificate and key of two files and follows them: a
// renewed pair written over the old one (by an ACME client, cert-manager,
// or a deploy script) is served to new connections within the reload
// interval, without a restart. A new pair that does not load (half
// written, or a key that does not match its certificate) is reported and
// the previous pair stays in service, so a bad rotation never takes a
// running server down. Connections already open keep the certificate they
// were set up with.
//
// Client trusts the certificate authorities of a PEM file, or the
// system's when none is given.
package tlsfiles
