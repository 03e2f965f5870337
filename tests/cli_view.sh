#!/usr/bin/env bash
# cli_view.sh - the interactive viewer under Xvfb, driven by synthetic input through
# the real GLFW event path (--script): hover and click a matrix cell, step heads with
# the arrow keys, hover and click a point (tooltip state, item selection, attention
# lines), drag to pan, wheel to zoom, click the search field and type, switch to the
# sentence view; each step's state is checked as JSON and screenshots by size. Also:
# no display = exit 2 with one line pointing to `attnviz render`.
set -u
fail=0
R="$AV_SRC/tests/fixtures/viewer/run_text"
rm -rf "$AV_TMP" && mkdir -p "$AV_TMP"
T="$AV_TMP"
bad() { echo "FAIL: $*"; fail=1; }
png_size() { od -An -tu1 -j16 -N8 "$1" | awk '{printf "%dx%d", $1*16777216+$2*65536+$3*256+$4, $5*16777216+$6*65536+$7*256+$8}'; }
has() { grep -q -- "$2" "$T/$1.json" || bad "$1: lacks $2: $(cat "$T/$1.json")"; }

# no display: one line, exit 2, points to render
env -u DISPLAY -u WAYLAND_DISPLAY "$AV" view "$R" >"$T/nodisp.out" 2>"$T/nodisp.err"
[ $? -eq 2 ] || bad "no display: exit status"
[ "$(wc -l <"$T/nodisp.err")" -eq 1 ] && grep -q "no display.*attnviz render" "$T/nodisp.err" || bad "no display: $(cat "$T/nodisp.err")"

# our own X server on a free display number, stopped on exit
. "$AV_SRC/tests/xvfb.sh"
av_start_xvfb 90 160 "$T/xvfb.log"

# window 1000x700: matrix cell (1,1) is centred at (519, 518)
cat >"$T/script.txt" <<EOS
move 519 518
state $T/s1.json
click 519 518
state $T/s2.json
key left
key up
point 11 query
state $T/s3.json
click
state $T/s4.json
screenshot $T/single.png
point 11 key
state $T/s5.json
drag 500 400 600 450
scroll 500 400 2
state $T/s6.json
key escape
click 800 15
type cat
state $T/s7.json
key backspace
key enter
key v
state $T/s8.json
screenshot $T/sentence.png
key m
key t
state $T/s9.json
quit
EOS
timeout 120 "$AV" view "$R" --size 1000x700 --script "$T/script.txt" >"$T/view.out" 2>"$T/view.err"
rc=$?
[ $rc -eq 0 ] || bad "view --script: exit $rc: $(cat "$T/view.err")"
has s1 '"view":"matrix"'; has s1 '"hover":{"layer":1,"head":1,"stats":{"layer":1,"head":1,'; has s1 '"dist_attn_spearman":-0.7'
has s2 '"view":"single","layer":1,"head":1'
has s3 '"layer":0,"head":0'; has s3 '"hover":{"token":11,"text":"dog","kind":"query","item":1,"pos":2,"label":"dog"}'
has s4 '"selected_token":11,"selected_item":1'; has s4 '"lines_drawn":9'
has s5 '"hover":{"token":11,"text":"dog","kind":"key"'
grep -q '"zoom":1,' "$T/s6.json" && bad "wheel did not zoom: $(cat "$T/s6.json")"
grep -q '"pan_x":0,' "$T/s6.json" && bad "drag did not pan: $(cat "$T/s6.json")"
has s7 '"selected_token":-1'; has s7 '"search":"cat","search_active":true,"search_hits":2'
has s8 '"view":"sentence"'; has s8 '"search":"ca","search_active":false,"search_hits":0'
has s9 '"view":"matrix"'; has s9 '"theme":"dark"'
[ "$(png_size "$T/single.png")" = 1000x700 ] || bad "screenshot size $(png_size "$T/single.png")"
[ "$(png_size "$T/sentence.png")" = 1000x700 ] || bad "sentence screenshot size"

# the cell tooltip of a run with real statistics (attnviz stats): the names `stats`
# prints, grouped (before: the raw stats.json keys, one per line)
cp -r "$R" "$T/withstats" && "$AV" stats "$T/withstats" >/dev/null || bad "stats on the fixture copy: exit $?"
printf 'move 519 518\nstate %s\nquit\n' "$T/tip.json" >"$T/tip.txt"
timeout 120 "$AV" view "$T/withstats" --size 1000x700 --script "$T/tip.txt" >/dev/null 2>"$T/tip.err" || bad "tooltip view: $(cat "$T/tip.err")"
has tip '"tooltip":\["layer 1, head 1  (click to open)","|q| [0-9.]*   |k| [0-9.]*   q/k [0-9.]*","dcorr -*[0-9.]*  (q.k vs distance, 48 queries)","attention to first [0-9.]*   self [0-9.]*   prev [0-9.]*"'

# a bad script line is named with its line number
printf 'move 1 2\njump 3\n' >"$T/bad.txt"
"$AV" view "$R" --script "$T/bad.txt" >/dev/null 2>"$T/bad.err"
[ $? -eq 2 ] && grep -q "bad.txt:2: cannot read 'jump 3'" "$T/bad.err" || bad "bad script: $(cat "$T/bad.err")"
exit $fail
