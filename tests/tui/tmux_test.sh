#!/usr/bin/env bash
# `podtrace tui` end to end in a real terminal: the binary runs in a detached tmux pane (132x40,
# a bare bash), reads the IPIP example captures; keys go in with send-keys, the screen comes back
# with capture-pane. Filters to pod1, opens the cross-node pod1 -> pod3 ICMP flow's path, checks
# its hops, opens a packet, quits; then checks the terminal was restored (no alternate screen,
# the prompt back, `stty` canonical with echo) after q, Ctrl-C, SIGTERM and a crash (SIGSEGV).
# Needs tmux (scripts/install-deps); exits 77 (CTest: skipped) without it.
# Usage: tmux_test.sh PODTRACE
set -euo pipefail
podtrace=$(realpath "${1:?usage: tmux_test.sh PODTRACE}")
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
command -v tmux >/dev/null || { echo "SKIP: tmux is not installed (scripts/install-deps)"; exit 77; }

export LANG=C.UTF-8 LC_ALL=C.UTF-8  # box drawing and arrows come back from capture-pane intact
sock=podtrace-test-$$
prompt='podtrace-e2e$'
tmx() { tmux -u -L "$sock" -f /dev/null "$@"; }
trap 'tmx kill-server 2>/dev/null || true' EXIT

screen() { tmx capture-pane -p -t e2e; }
fail() {
  echo "FAIL: $*"
  echo "---- screen ----"
  screen || true
  echo "----------------"
  exit 1
}
keys() { tmx send-keys -t e2e "$@"; }
# Waits until the screen shows TEXT (a fixed string), up to SECONDS.
wait_for() {  # text [seconds=15]
  local deadline=$((SECONDS + ${2:-15}))
  until screen | grep -qF -- "$1"; do
    ((SECONDS < deadline)) || fail "waited ${2:-15} s for \"$1\""
    sleep 0.1
  done
}
# Waits until the screen no longer shows TEXT.
wait_gone() {  # text [seconds=15]
  local deadline=$((SECONDS + ${2:-15}))
  while screen | grep -qF -- "$1"; do
    ((SECONDS < deadline)) || fail "waited ${2:-15} s for \"$1\" to go"
    sleep 0.1
  done
}

# A bare shell: no rc files, a prompt we know, no core files from the crash below.
tmx new-session -d -s e2e -x 132 -y 40 \
  "env -i PATH=$PATH HOME=$HOME TERM=screen LANG=C.UTF-8 PS1='$prompt ' bash --norc --noprofile"
# Waits until the shell prompts again: its prompt alone on the last line written.
wait_prompt() {  # [what ended]
  local deadline=$((SECONDS + 10))
  until [[ $(screen | grep -v '^ *$' | tail -1) == "$prompt" ]]; do
    ((SECONDS < deadline)) || fail "${1:+after $1: }waited 10 s for the shell's prompt" \
      "(alternate screen: $(tmx display-message -p -t e2e '#{alternate_on}'))"
    sleep 0.1
  done
}
keys "ulimit -c 0; cd '$repo'; clear" Enter
wait_prompt

ex=examples/ipip
run_tui() {
  keys "clear; '$podtrace' tui -r $ex/k8s-w0.pcapng $ex/k8s-w1.pcapng $ex/k8s-w2.pcapng" \
    " --pods $ex/pods.json --services $ex/services.json --nodes $ex/nodes.json" Enter
  wait_for "end of files"
  wait_for "Enter path"  # the Flows screen's key hints
}

# The terminal is as the shell had it: main screen, prompt, canonical mode with echo.
check_restored() {  # how podtrace ended
  local how=$1 alt line
  wait_prompt "$how"
  alt=$(tmx display-message -p -t e2e '#{alternate_on}')
  [[ $alt == 0 ]] || fail "after $how: still on the alternate screen"
  keys "clear; printf 'STTY:%s:\\n' \"\$(stty -a | tr -s ' ;' '\\n\\n' | grep -xE -- '-?(icanon|echo)' | tr '\\n' ' ')\"" Enter
  # The typed command line holds "STTY:" too: wait for printf's output, the line without it.
  local deadline=$((SECONDS + 10))
  until screen | grep -v printf | grep -qF "STTY:"; do
    ((SECONDS < deadline)) || fail "after $how: waited 10 s for stty's output"
    sleep 0.1
  done
  line=$(screen | grep -F "STTY:" | grep -v printf | tail -1)
  [[ $line == "STTY:icanon echo :" ]] || fail "after $how: terminal modes not restored ($line)"
  echo "ok: terminal restored after $how"
}

# The one podtrace running in the pane (a child of its shell); waits up to 5 s for it. Returns 1
# rather than fail(): it runs in a command substitution, where fail() could not stop the test.
tui_pid() {
  local shell pid deadline=$((SECONDS + 5))
  while ((SECONDS < deadline)); do
    shell=$(tmx display-message -p -t e2e '#{pane_pid}')
    for pid in $(pgrep -P "$shell"); do
      [[ $(cat "/proc/$pid/comm" 2>/dev/null) == podtrace ]] && { echo "$pid"; return 0; }
    done
    sleep 0.1
  done
  return 1
}

start=$SECONDS

# ---- filter, path, packet, quit ----
run_tui
screen | grep -qF "default/pod2" || fail "the unfiltered Flows screen shows no default/pod2 flow"
keys "/pod1" Enter
wait_for "/pod1"
# Flow rows: between the column header (line 2) and the findings line (line 39).
rows=$(screen | sed -n '3,38p' | grep -v '^ *$' || true)
[[ -n $rows ]] || fail "no flow row left after /pod1"
while IFS= read -r r; do
  [[ $r == *pod1* ]] || fail "a row without pod1 after /pod1: $r"
done <<<"$rows"
echo "ok: /pod1 leaves $(wc -l <<<"$rows") flows, all with pod1, none pod2-only"

# The cross-node ICMP flow default/pod1 -> default/pod3: its row number, then Home and Down.
target=$(grep -nE 'default/pod1.*default/pod3.*ICMP|ICMP.*default/pod1.*default/pod3' \
  <<<"$rows" | head -1 | cut -d: -f1 || true)
[[ -n $target ]] || fail "no ICMP flow default/pod1 -> default/pod3 among the rows"
keys Home
for ((i = 1; i < target; i++)); do keys Down; done
# The selected row is the one with a background (or reverse video): capture-pane -e writes a
# style where it changes, so it opens that row alone.
selected_row() {
  tmx capture-pane -p -e -t e2e | sed -n '3,38p' |
    grep -nE $'^(\e\\[[0-9;]*m)*\e\\[([0-9]+;)*(4[0-7]|48|7)(;[0-9]+)*m' | cut -d: -f1 | tr '\n' ' '
}
deadline=$((SECONDS + 5))
until [[ $(selected_row) == "$target " ]]; do
  ((SECONDS < deadline)) || fail "selected row(s) '$(selected_row)', expected row $target"
  sleep 0.1
done
echo "ok: row $target selected: $(sed -n "${target}p" <<<"$rows" | tr -s ' ')"
keys Enter
wait_for "calice0906292e2"
path=$(screen)
grep -qE '^flow [0-9]+ +ICMP +default/pod1 .*default/pod3' <<<"$path" ||
  fail "the Path screen is not the ICMP flow default/pod1 -> default/pod3"
grep -qF "IPIP" <<<"$path" || fail "the Path screen does not say IPIP"

# The hops, box by box in reading order ("node: iface iface iface"), for the packet shown:
# the request pod1 -> pod3 or its reply. Left steps to the older packet: the other one.
boxes() {
  screen | awk '
    /┌/ { if (match($0, /k8s-w[0-9]+/)) { node = substr($0, RSTART, RLENGTH); ifs = "" } next }
    /└/ { if (node != "") print node ":" ifs; node = ""; next }
    node != "" && match($0, /(cali[0-9a-f]+|tunl0|ens5)/) { ifs = ifs " " substr($0, RSTART, RLENGTH) }'
}
request=$'k8s-w1: calice0906292e2 tunl0 ens5\nk8s-w2: ens5 tunl0 cali49778cadcf1'
reply=$'k8s-w2: cali49778cadcf1 tunl0 ens5\nk8s-w1: ens5 tunl0 calice0906292e2'
check_hops() {
  local shown=$1 want
  if [[ $shown == request ]]; then want=$request; else want=$reply; fi
  [[ $(boxes) == "$want" ]] || fail "$shown hops: expected
$want
got
$(boxes)"
  echo "ok: $shown path: $(boxes | tr '\n' ';')"
}
if screen | grep -qF "→ request"; then first=request second=reply; else first=reply second=request; fi
check_hops "$first"
keys Left
if [[ $second == request ]]; then wait_for "→ request"; else wait_for "← reply"; fi
check_hops "$second"

keys Enter
wait_for "0000  "
screen | grep -qE '^IPv4, src ' || fail "the Packet screen shows no IPv4 layer"
echo "ok: packet screen with dissection and hex"
keys Escape
wait_for "calice0906292e2"
keys Escape
wait_for "Enter path"
keys q
check_restored "q"

# ---- Ctrl-C, SIGTERM, a crash ----
run_tui
keys C-c
check_restored "Ctrl-C"

run_tui
pid=$(tui_pid) || fail "no podtrace process under the pane's shell"
kill -TERM "$pid"
check_restored "SIGTERM"

run_tui
keys "?"
wait_for "any key closes this help"
pid=$(tui_pid) || fail "no podtrace process under the pane's shell"
kill -SEGV "$pid"
check_restored "SIGSEGV"

echo "PASS: tmux end-to-end in $((SECONDS - start)) s"
