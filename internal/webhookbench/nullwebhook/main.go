// Command nullwebhook is the benchmark's baseline webhook: it serves
// /validate and /mutate over HTTPS, decodes each AdmissionReview as any
// webhook must, and allows everything without looking at the object. The
// difference between it and no webhook is what any webhook costs the API
// server on the machine; the difference between it and selmount is what
// selmount's checks cost. GET /count returns the reviews answered.
//
//	nullwebhook -addr 127.0.0.1:9444 -cert-dir DIR   (DIR/tls.crt, DIR/tls.key)
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"path/filepath"
	"sync/atomic"

	admissionv1 "k8s.io/api/admission/v1"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9444", "listen address")
	dir := flag.String("cert-dir", "", "directory with tls.crt and tls.key")
	flag.Parse()
	var count atomic.Int64
	review := func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 3<<20))
		var in admissionv1.AdmissionReview
		if err == nil {
			err = json.Unmarshal(body, &in)
		}
		if err != nil || in.Request == nil {
			http.Error(w, fmt.Sprintf("not an AdmissionReview: %v", err), http.StatusBadRequest)
			return
		}
		count.Add(1)
		out := admissionv1.AdmissionReview{TypeMeta: in.TypeMeta,
			Response: &admissionv1.AdmissionResponse{UID: in.Request.UID, Allowed: true}}
		data, _ := json.Marshal(out)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(data)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /validate", review)
	mux.HandleFunc("POST /mutate", review)
	mux.HandleFunc("GET /count", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, count.Load()) })
	log.Fatal(http.ListenAndServeTLS(*addr, filepath.Join(*dir, "tls.crt"), filepath.Join(*dir, "tls.key"), mux))
}
