package loadgen

import (
	"fmt"
	"io"
	"strings"
)

// WriteText writes the report for people: one line per aspect, numbers
// first.
func (rep *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	st := rep.Settings
	switch rep.Mode {
	case "idle":
		fmt.Fprintf(&b, "herald-bench %s idle: %d connections to %s held %s, topic %q\n",
			rep.Transport, st.Subscribers, st.Target, secs(st.DurationSeconds), st.Topic)
	default:
		fmt.Fprintf(&b, "herald-bench %s: %d subscribers of %s, %d msg/s (%d publishers, %d B payloads) → %d deliveries/s expected; %s measured after %s warm-up, topic %q\n",
			rep.Transport, st.Subscribers, st.Target, st.Rate, st.Publishers, st.PayloadSize,
			st.Rate*st.Subscribers, secs(st.DurationSeconds), secs(st.WarmupSeconds), st.Topic)
	}
	if rep.Interrupted {
		b.WriteString("INTERRUPTED: the numbers below cover the run until then\n")
	}

	c := rep.Connections
	fmt.Fprintf(&b, "connections  %d connected of %d attempted (%d requested) in %s; %d failed, %d lost; %d heartbeats\n",
		c.Connected, c.Attempted, c.Requested, secs(c.ConnectSeconds), c.Failed, c.Lost, c.Heartbeats)
	writeReasons(&b, "failed", c.FailureReasons)
	writeReasons(&b, "lost", c.LostReasons)

	if p := rep.Publish; p != nil {
		fmt.Fprintf(&b, "published    %d messages, %.1f msg/s, %d errors; at most %.2f ms behind schedule\n",
			p.Published, p.RatePerSecond, p.Errors, p.MaxLagMS)
		if l := p.CallLatency; l != nil {
			fmt.Fprintf(&b, "publish call p50 %s  p99 %s  max %s\n", ms(l.P50MS), ms(l.P99MS), ms(l.MaxMS))
		}
		if p.LastError != "" {
			fmt.Fprintf(&b, "             last publish error: %s\n", p.LastError)
		}
	}
	if d := rep.Deliveries; d != nil {
		fmt.Fprintf(&b, "deliveries   %d expected, %d received (%d unique): %d missing, %d duplicates, %d out of order",
			d.Expected, d.Received, d.Unique, d.Missing, d.Duplicates, d.OutOfOrder)
		if d.Foreign > 0 || d.Gaps > 0 {
			fmt.Fprintf(&b, ", %d foreign frames, %d history gaps", d.Foreign, d.Gaps)
		}
		b.WriteString("\n")
		if d.WindowSeconds > 0 {
			fmt.Fprintf(&b, "throughput   %.0f deliveries/s (%d in the %s window)\n", d.PerSecond, d.InWindow, secs(d.WindowSeconds))
		}
	}
	if l := rep.Latency; l != nil {
		fmt.Fprintf(&b, "latency      p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  (mean %s, %d samples)\n",
			ms(l.P50MS), ms(l.P90MS), ms(l.P99MS), ms(l.P999MS), ms(l.MaxMS), ms(l.MeanMS), l.Count)
	}
	if s := rep.Server; s != nil {
		if s.WindowSeconds > 0 {
			fmt.Fprintf(&b, "server cpu   pid %d: %.2f s over %s (%.0f%% of a core)", s.PID, s.CPUSeconds, secs(s.WindowSeconds), 100*s.CPUCores)
			if s.CPUSecondsPerMillion > 0 {
				fmt.Fprintf(&b, ", %.2f s per million deliveries", s.CPUSecondsPerMillion)
			}
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "server rss   pid %d: %s before connecting", s.PID, kib(s.RSSBeforeKiB))
		if s.RSSConnectedKiB > 0 {
			fmt.Fprintf(&b, ", %s connected, %s at the end: %.1f KiB per connection",
				kib(s.RSSConnectedKiB), kib(s.RSSAfterKiB), s.KiBPerConnection)
		}
		b.WriteString("\n")
	}
	if g := rep.LoadGen; g != nil {
		fmt.Fprintf(&b, "loadgen cpu  %.2f s (%.0f%% of a core)\n", g.CPUSeconds, 100*g.CPUCores)
	}
	if m := rep.Machine; m != nil {
		fmt.Fprintf(&b, "machine cpu  %.2f of %d cores busy, %.2f outside the server and the load generator", m.BusyCores, m.CPUs, m.OtherCores)
		if m.OtherCores > busyOtherWarning {
			b.WriteString(" — the machine was not quiet: these numbers are not reliable")
		}
		b.WriteString("\n")
	}
	if rep.Error != "" {
		fmt.Fprintf(&b, "error        %s\n", rep.Error)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// busyOtherWarning is the CPU use by others, in cores, above which the text
// report warns that the run shared its machine.
const busyOtherWarning = 0.15

func writeReasons(b *strings.Builder, what string, m map[string]int) {
	for _, k := range sortedReasons(m) {
		fmt.Fprintf(b, "             %s %d×: %s\n", what, m[k], k)
	}
}

func secs(s float64) string { return fmt.Sprintf("%.1fs", s) }

func ms(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0fms", v)
	case v >= 10:
		return fmt.Sprintf("%.1fms", v)
	default:
		return fmt.Sprintf("%.2fms", v)
	}
}

func kib(v int64) string {
	if v >= 10<<10 {
		return fmt.Sprintf("%.1f MiB", float64(v)/1024)
	}
	return fmt.Sprintf("%d KiB", v)
}
