package httpapi

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts the module's answers by endpoint and business code, and
// times them. It uses the Prometheus client (the de facto standard; hosts
// scrape it with everything else they run) on a registry the host gives.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewMetrics registers the module's metrics on reg. A nil reg gives nil
// Metrics, which records nothing.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	if reg == nil {
		return nil, nil //nolint:nilnil // nil *Metrics is the valid "record nothing" value, not a missing one
	}
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "enduser_auth_requests_total",
			Help: "Answers of the end-user authentication endpoints, by endpoint and business code (200 is success).",
		}, []string{"endpoint", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "enduser_auth_request_duration_seconds",
			Help:    "Time to answer the end-user authentication endpoints, WeChat and database included.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"endpoint"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *Metrics) observe(endpoint string, code int, took time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(endpoint, strconv.Itoa(code)).Inc()
	m.duration.WithLabelValues(endpoint).Observe(took.Seconds())
}
