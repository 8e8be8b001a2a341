package gateway

import (
	"net/http"
)

// Bodies of the health and readiness answers.
const (
	bodyHealthy  = `{"status":"ok"}` + "\n"
	bodyReady    = `{"status":"ready"}` + "\n"
	bodyNotReady = `{"status":"not ready"}` + "\n"
)

// healthz serves GET /healthz: the process is alive and serving HTTP.
func (g *gateway) healthz(w http.ResponseWriter, r *http.Request) {
	g.writeStatus(w, r, http.StatusOK, bodyHealthy)
}

// readyz serves GET /readyz: 200 when Config.Ready reports true (or is
// nil), 503 otherwise.
func (g *gateway) readyz(w http.ResponseWriter, r *http.Request) {
	if g.ready == nil || g.ready() {
		g.writeStatus(w, r, http.StatusOK, bodyReady)
		return
	}
	g.writeStatus(w, r, http.StatusServiceUnavailable, bodyNotReady)
}

// writeStatus writes a small JSON status answer, which no cache may keep.
func (g *gateway) writeStatus(w http.ResponseWriter, r *http.Request, code int, body string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	if r.Method == http.MethodHead {
		return
	}
	if _, err := w.Write([]byte(body)); err != nil {
		g.logger.DebugContext(r.Context(), "writing a status answer", "path", r.URL.Path, "err", err)
	}
}
