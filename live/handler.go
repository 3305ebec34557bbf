package live

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/websocket"
)

const (
	writeTimeout = 10 * time.Second
	pongTimeout  = 60 * time.Second
	pingEvery    = 25 * time.Second
)

// Handler upgrades GET /api/v1/live to a WebSocket and streams messages as
// JSON text frames until the client goes away or is dropped as too slow.
// Authentication is the caller's job (the API wraps it with the token
// check).
func (h *Hub) Handler(log *slog.Logger) http.Handler {
	up := websocket.Upgrader{
		ReadBufferSize:  1024,
		WriteBufferSize: 4096,
		// The feed is authenticated by token, not by cookies, so a
		// cross-origin page gains nothing it could not do with the token.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			return // Upgrade already answered with an HTTP error
		}
		s := h.subscribe()
		defer h.unsubscribe(s)
		defer conn.Close()

		// The read loop only handles control frames and notices the close.
		closed := make(chan struct{})
		conn.SetReadLimit(512)
		_ = conn.SetReadDeadline(time.Now().Add(pongTimeout))
		conn.SetPongHandler(func(string) error { return conn.SetReadDeadline(time.Now().Add(pongTimeout)) })
		go func() {
			defer close(closed)
			for {
				if _, _, err := conn.NextReader(); err != nil {
					return
				}
			}
		}()

		ping := time.NewTicker(pingEvery)
		defer ping.Stop()
		for {
			select {
			case m := <-s.ch:
				_ = conn.SetWriteDeadline(time.Now().Add(writeTimeout))
				if err := conn.WriteJSON(m); err != nil {
					return
				}
			case <-ping.C:
				if err := conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeTimeout)); err != nil {
					return
				}
			case <-s.gone:
				_ = conn.WriteControl(websocket.CloseMessage,
					websocket.FormatCloseMessage(websocket.ClosePolicyViolation, "too slow"), time.Now().Add(time.Second))
				log.Debug("dropped slow live feed subscriber")
				return
			case <-closed:
				return
			case <-r.Context().Done():
				return
			}
		}
	})
}
