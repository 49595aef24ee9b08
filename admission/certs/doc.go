// Package certs supplies the admission webhook's serving certificate.
//
// Two sources implement Source:
//
//   - DirSource reads tls.crt and tls.key from a directory (a mounted
//     kubernetes.io/tls Secret, for example one cert-manager keeps) and
//     rereads them every few seconds, so a renewed certificate is served
//     without a restart. Whoever writes the files also keeps the webhook
//     configurations' caBundle (cert-manager's CA injector does).
//   - Manager needs nothing from outside. It keeps a self-signed CA and a
//     serving certificate in one Secret, renews them before they expire and
//     writes the CA bundle into the webhook configurations it is given.
//
// # The Manager's Secret
//
// The Secret has type kubernetes.io/tls. tls.crt and tls.key are the serving
// certificate and key; ca.crt is the CA bundle (the current CA first, then
// older CAs that have not expired) and ca.key the current CA's key. The
// serving certificate names the Service: svc, svc.ns, svc.ns.svc and
// svc.ns.svc.cluster.local, plus ManagerOptions.ExtraDNSNames.
//
// Every replica serves the certificate in the Secret, which it watches
// (a watch on that one name). Only the replica for which
// ManagerOptions.Leading returns true writes:
//
//   - an absent Secret is created. When two replicas race, one create fails
//     with AlreadyExists and that replica uses the winner's Secret;
//   - contents that do not parse, a key that does not match its certificate,
//     or a serving certificate that no CA in the bundle signed are replaced
//     by a new CA and certificate (the reason is logged);
//   - the serving certificate (default validity one year) is renewed two
//     thirds into its life, or at once when its DNS names differ from the
//     ones asked for;
//   - the CA (default ten years) is renewed two thirds into its life with an
//     overlap: the new CA goes first into the bundle, the old one stays until
//     it expires, and the serving certificate is reissued by the new CA only
//     once every webhook configuration already trusts it (one that falls due
//     in the same round is signed by the previous CA meanwhile);
//   - every webhook of the named Validating- and
//     MutatingWebhookConfigurations gets the bundle as its caBundle whenever
//     it differs (a strategic merge patch keyed by the webhook's name). The
//     configurations are watched, so a caBundle someone resets (a
//     `kubectl replace` of the manifest, `helm upgrade --force`, a recreated
//     configuration) is written again within moments. A configuration that
//     does not exist yet is patched once it appears.
//
// Everything is checked again every ManagerOptions.CheckInterval, which is
// also how soon a replica that becomes leader acts.
//
// Writes are optimistic: an update carries the resourceVersion that was read
// and is redone from a fresh read on a conflict, so two managers that both
// believe they lead never overwrite each other's CA blindly.
package certs
