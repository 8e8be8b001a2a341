package loadgen

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"time"
)

// clockTicks is the kernel's USER_HZ, the unit of the CPU times in
// /proc/PID/stat: 100 on every Linux architecture Go supports.
const clockTicks = 100

// ProcSample is one reading of a process's CPU time and memory from /proc.
type ProcSample struct {
	// CPU is user plus system CPU time used so far (utime + stime).
	CPU time.Duration
	// RSSKiB is the resident set size in KiB (VmRSS).
	RSSKiB int64
}

// ReadProc reads the CPU time and resident memory of process pid from
// /proc (Linux only). It returns an error when the process does not exist
// or /proc cannot be read.
func ReadProc(pid int) (ProcSample, error) {
	return readProc("/proc", pid)
}

func readProc(root string, pid int) (ProcSample, error) {
	dir := fmt.Sprintf("%s/%d", root, pid)
	stat, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return ProcSample{}, fmt.Errorf("loadgen: server process %d: %w", pid, err)
	}
	cpu, err := parseStatCPU(stat)
	if err != nil {
		return ProcSample{}, fmt.Errorf("loadgen: %s/stat: %w", dir, err)
	}
	status, err := os.ReadFile(dir + "/status")
	if err != nil {
		return ProcSample{}, fmt.Errorf("loadgen: server process %d: %w", pid, err)
	}
	rss, err := parseStatusRSS(status)
	if err != nil {
		return ProcSample{}, fmt.Errorf("loadgen: %s/status: %w", dir, err)
	}
	return ProcSample{CPU: cpu, RSSKiB: rss}, nil
}

// parseStatCPU returns utime + stime from the contents of /proc/PID/stat.
// The command name (field 2) is in parentheses and may hold spaces and
// parentheses itself, so fields are counted from the last ')'.
func parseStatCPU(stat []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("no command name in %q", stat)
	}
	// After ") ": field 3 (state) onwards; utime and stime are fields 14
	// and 15, so indexes 11 and 12 here.
	fields := bytes.Fields(stat[i+1:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("too few fields in %q", stat)
	}
	utime, err1 := strconv.ParseUint(string(fields[11]), 10, 64)
	stime, err2 := strconv.ParseUint(string(fields[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("bad utime/stime %q %q", fields[11], fields[12])
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// parseStatusRSS returns VmRSS in KiB from the contents of
// /proc/PID/status.
func parseStatusRSS(status []byte) (int64, error) {
	for line := range bytes.SplitSeq(status, []byte("\n")) {
		rest, ok := bytes.CutPrefix(line, []byte("VmRSS:"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0, fmt.Errorf("unexpected VmRSS line %q", line)
		}
		return strconv.ParseInt(string(f[0]), 10, 64)
	}
	return 0, fmt.Errorf("no VmRSS line (a kernel thread or a zombie?)")
}

// SystemSample is one reading of the machine's CPU time from /proc/stat.
type SystemSample struct {
	// Busy is the CPU time spent on anything but idling and waiting for
	// I/O, summed over every CPU.
	Busy time.Duration
	// CPUs is the number of CPUs the kernel lists.
	CPUs int
}

// ReadSystem reads the machine's CPU time from /proc/stat (Linux only).
func ReadSystem() (SystemSample, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return SystemSample{}, fmt.Errorf("loadgen: %w", err)
	}
	s, err := parseProcStat(b)
	if err != nil {
		return SystemSample{}, fmt.Errorf("loadgen: /proc/stat: %w", err)
	}
	return s, nil
}

// parseProcStat reads the "cpu" line (user nice system idle iowait irq
// softirq steal ..., in ticks) and counts the "cpuN" lines.
func parseProcStat(b []byte) (SystemSample, error) {
	var s SystemSample
	found := false
	for line := range bytes.SplitSeq(b, []byte("\n")) {
		f := bytes.Fields(line)
		if len(f) == 0 || !bytes.HasPrefix(f[0], []byte("cpu")) {
			continue
		}
		if len(f[0]) > 3 {
			s.CPUs++
			continue
		}
		if len(f) < 9 {
			return s, fmt.Errorf("short cpu line %q", line)
		}
		var busy uint64
		for i, name := range []string{"user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"} {
			v, err := strconv.ParseUint(string(f[i+1]), 10, 64)
			if err != nil {
				return s, fmt.Errorf("bad %s %q", name, f[i+1])
			}
			if name != "idle" && name != "iowait" {
				busy += v
			}
		}
		s.Busy = time.Duration(busy) * time.Second / clockTicks
		found = true
	}
	if !found || s.CPUs == 0 {
		return s, fmt.Errorf("no cpu lines")
	}
	return s, nil
}
