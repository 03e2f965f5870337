#!/usr/bin/env bash
# cli_view_live.sh - `attnviz view --live` under Xvfb: a BERT-tiny run of ~1900 tokens
# (3766 points) is projected by t-SNE in the viewer's worker thread while a script
# watches: the state JSON at iteration >= 30 and at the end must show the iteration
# advancing, the KL falling and the points moving; key s saves the result, which must
# then be a normal projection (proj/tsne-2d.npy, manifest entry with one head projected,
# rendered by `attnviz render`, byte-identical to `attnviz project` with the same seed)
# and a save before the end must be refused. The positions drawn mid-run (script
# `positions`, with the iteration the `state` before names) must be byte-identical to
# `attnviz project --iters` of that many iterations, and the state and bottom bar must
# say the frames take the copy path (the CPU projects). Two heads run live side by
# side in the matrix view and save what `project --heads` writes. UMAP runs live too.
# Bad invocations: exit 2 with one line.
set -u
fail=0
rm -rf "$AV_TMP" && mkdir -p "$AV_TMP"
T="$AV_TMP"
bad() { echo "FAIL: $*"; fail=1; }
png_size() { od -An -tu1 -j16 -N8 "$1" | awk '{printf "%dx%d", $1*16777216+$2*65536+$3*256+$4, $5*16777216+$6*65536+$7*256+$8}'; }
num() { grep -o "\"live\":{.*" "$1" | grep -o "\"$2\":[-0-9.e]*" | head -1 | cut -d: -f2; }

for i in $(seq 60); do echo "The quick brown fox number $i jumps over the lazy dog, again and again."; done >"$T/text.txt"
"$AV" extract "$AV_SRC/tests/fixtures/models/bert-tiny" "$T/text.txt" -o "$T/run" --quiet --dtype f32 || { echo "FAIL: extract"; exit 1; }
R="$T/run"

# bad invocations (no display needed: options are checked first)
"$AV" view "$R" --live --head 0:0 2>"$T/e1" >/dev/null; [ $? -eq 2 ] && grep -q "needs --method tsne or --method umap" "$T/e1" || bad "no method: $(cat "$T/e1")"
"$AV" view "$R" --live --method pca --head 0:0 2>"$T/e2" >/dev/null; [ $? -eq 2 ] && grep -q "needs --method tsne or --method umap" "$T/e2" || bad "pca: $(cat "$T/e2")"
"$AV" view "$R" --live --method tsne 2>"$T/e3" >/dev/null; [ $? -eq 2 ] && grep -q "needs --head" "$T/e3" || bad "no head: $(cat "$T/e3")"
"$AV" view "$R" --perplexity 5 2>"$T/e4" >/dev/null; [ $? -eq 2 ] && grep -q "need --live" "$T/e4" || bad "perplexity without live: $(cat "$T/e4")"
"$AV" view "$R" --live --method tsne --head 0:0 --interop maybe 2>"$T/e7" >/dev/null; [ $? -eq 2 ] && grep -q "interop wants auto or off" "$T/e7" || bad "bad --interop: $(cat "$T/e7")"
"$AV" view "$R" --interop off 2>"$T/e8" >/dev/null; [ $? -eq 2 ] && grep -q "need --live" "$T/e8" || bad "--interop without live: $(cat "$T/e8")"
for f in e1 e2 e3 e4 e7 e8; do [ "$(wc -l <"$T/$f")" -eq 1 ] || bad "$f: not one line"; done

. "$AV_SRC/tests/xvfb.sh"
av_start_xvfb 161 230 "$T/xvfb.log"

# a head that does not exist: one line, exit 2
"$AV" view "$R" --live --method tsne --head 9:0 2>"$T/e5" >/dev/null
[ $? -eq 2 ] && [ "$(wc -l <"$T/e5")" -eq 1 ] && grep -q "no head 9:0" "$T/e5" || bad "bad head: $(cat "$T/e5")"

cat >"$T/script.txt" <<EOS
live-wait 30
state $T/a.json
positions $T/a.npy
screenshot $T/mid.png
key s
state $T/early.json
live-wait done 300000
state $T/b.json
key s
state $T/c.json
screenshot $T/done.png
quit
EOS
timeout 600 "$AV" view "$R" --live --method tsne --head 1:0 --iters 500 --seed 3 --size 900x700 \
  --script "$T/script.txt" >"$T/view.out" 2>"$T/view.err"
rc=$?
[ $rc -eq 0 ] || bad "view --live: exit $rc: $(cat "$T/view.err")"
ia=$(num "$T/a.json" iteration); ib=$(num "$T/b.json" iteration)
[ -n "$ia" ] && [ "$ia" -ge 30 ] && [ "$ia" -lt 500 ] || bad "mid-run iteration '$ia': $(cat "$T/a.json")"
[ "$ib" = 500 ] || bad "final iteration '$ib'"
grep -q '"done":false' "$T/a.json" || bad "mid-run state says done"
grep -q '"done":true,"saved":false' "$T/b.json" || bad "end state: $(cat "$T/b.json")"
grep -q '"saved":true' "$T/c.json" || bad "s did not save: $(cat "$T/c.json")"
grep -q '"note":"the projection is still running' "$T/early.json" || bad "early save not refused: $(cat "$T/early.json")"
ka=$(num "$T/a.json" kl); kb=$(num "$T/b.json" kl)
awk -v a="$ka" -v b="$kb" 'BEGIN{exit !(b < a)}' || bad "KL did not fall: $ka -> $kb"
xa=$(num "$T/a.json" extent); xb=$(num "$T/b.json" extent)
awk -v a="$xa" -v b="$xb" 'BEGIN{exit !(b > 2 * a)}' || bad "the cloud did not expand: extent $xa -> $xb"
pa=$(grep -o '"point0":\[[^]]*\]' "$T/a.json"); pb=$(grep -o '"point0":\[[^]]*\]' "$T/b.json")
[ -n "$pa" ] && [ "$pa" != "$pb" ] || bad "point 0 did not move: $pa / $pb"
[ "$(png_size "$T/mid.png")" = 900x700 ] && [ "$(png_size "$T/done.png")" = 900x700 ] || bad "screenshot sizes"
cmp -s "$T/mid.png" "$T/done.png" && bad "mid-run and final screenshots are identical"

# the copy path, said in the state and the bottom bar, with one frame per iteration taken
grep -q '"path":"copy","path_why":"the projection runs on the CPU"' "$T/a.json" || bad "path: $(cat "$T/a.json")"
grep -q '"bar":"live t-SNE 2-D of head 1:0 on the CPU .* copy' "$T/a.json" || bad "bottom bar: $(cat "$T/a.json")"
fc=$(num "$T/b.json" frames_copy)
[ "$(num "$T/b.json" frames_interop)" = 0 ] && [ -n "$fc" ] && [ "$fc" -ge 2 ] || bad "frames: $(cat "$T/b.json")"
# the positions drawn at iteration ia are the projection's own at that iteration: the
# bytes `attnviz project --iters ia` writes for the head (layer 1 of 2, head 0 of 4: the fifth of 8 heads)
npy_data() { echo $((10 + $(od -An -tu2 -j8 -N2 "$1"))); }
cp -r "$R" "$T/run_mid" && rm -rf "$T/run_mid/proj"
"$AV" project "$T/run_mid" --method tsne --heads 1:0 --iters "$ia" --seed 3 2>/dev/null || bad "project --iters $ia: exit $?"
P="$T/run_mid/proj/tsne-2d.npy"
len=$(( $(stat -c %s "$T/a.npy") - $(npy_data "$T/a.npy") ))
[ "$len" -gt 0 ] && [ $(( $(stat -c %s "$P") - $(npy_data "$P") )) -eq $((8 * len)) ] || bad "positions size $len vs $P"
cmp -s -n "$len" -i "$(npy_data "$T/a.npy"):$(( $(npy_data "$P") + 4 * len ))" "$T/a.npy" "$P" \
  || bad "positions drawn at iteration $ia differ from project --iters $ia"
grep -q "'shape': ($(( len / 8 )), 2)" "$T/a.npy" || bad "positions shape: $(head -c 100 "$T/a.npy")"

# the save is a projection like `attnviz project` makes
[ -f "$R/proj/tsne-2d.npy" ] || bad "no proj/tsne-2d.npy"
grep -q '"tsne-2d"' "$R/manifest.json" && grep -q '"heads_projected":[[:space:]]*1' "$R/manifest.json" || bad "manifest lacks the saved projection"
grep -q '"kl"' "$R/manifest.json" || bad "no head record (KL) in the manifest"
[ ! -e "$R/proj/.partial-tsne-2d" ] || bad "the save left proj/.partial-tsne-2d behind"
"$AV" render "$R" --view single --head 1:0 --method tsne -o "$T/saved.png" --size 600x450 2>"$T/render.err" || bad "render of the saved projection: $(cat "$T/render.err")"
[ "$(png_size "$T/saved.png")" = 600x450 ] || bad "saved render size"
# ... and the very file `attnviz project` writes with the same parameters (same seed:
# the same iterations, so the same bytes)
cp -r "$R" "$T/run_project" && rm -rf "$T/run_project/proj"
"$AV" project "$T/run_project" --method tsne --heads 1:0 --iters 500 --seed 3 2>/dev/null || bad "project: exit $?"
cmp -s "$T/run_project/proj/tsne-2d.npy" "$R/proj/tsne-2d.npy" || bad "saved proj/tsne-2d.npy differs from project's"
# the viewer opens it without --live, and a second save of the same head replaces it
printf 'state %s\nquit\n' "$T/d.json" >"$T/s2.txt"
"$AV" view "$R" --view single --head 1:0 --script "$T/s2.txt" >/dev/null 2>"$T/v2.err" || bad "view of saved: $(cat "$T/v2.err")"
grep -q '"method":"tsne"' "$T/d.json" || bad "saved view state: $(cat "$T/d.json")"

# several heads at once: both converge side by side in the matrix view, and s saves the
# bytes `attnviz project --heads` writes for the two
printf 'live-wait done 300000\nstate %s\npositions %s 1:2\nkey s\nstate %s\nquit\n' "$T/m.json" "$T/m12.npy" "$T/m2.json" >"$T/sm.txt"
rm -rf "$T/run_multi" && cp -r "$T/run_project" "$T/run_multi" && rm -rf "$T/run_multi/proj"
timeout 600 "$AV" view "$T/run_multi" --live --method tsne --head 0:1,1:2 --iters 120 --seed 5 --size 600x450 \
  --script "$T/sm.txt" >/dev/null 2>"$T/m.err" || bad "multi-head live: $(cat "$T/m.err")"
grep -q '"view":"matrix"' "$T/m.json" || bad "several heads not in the matrix view: $(cat "$T/m.json")"
grep -q '"heads":\[{"head":"0:1","iteration":120,"done":true},{"head":"1:2","iteration":120,"done":true}\]' "$T/m.json" \
  || bad "multi-head state: $(cat "$T/m.json")"
grep -q '"bar":"live t-SNE 2-D of 2 heads on the CPU' "$T/m.json" || bad "multi-head bar: $(cat "$T/m.json")"
grep -q '"saved":true' "$T/m2.json" || bad "multi-head save: $(cat "$T/m2.json")"
rm -rf "$T/run_multi_p" && cp -r "$T/run_project" "$T/run_multi_p" && rm -rf "$T/run_multi_p/proj"
"$AV" project "$T/run_multi_p" --method tsne --heads 0:1,1:2 --iters 120 --seed 5 2>/dev/null || bad "project two heads: exit $?"
cmp -s "$T/run_multi/proj/tsne-2d.npy" "$T/run_multi_p/proj/tsne-2d.npy" || bad "two saved heads differ from project's"
P="$T/run_multi_p/proj/tsne-2d.npy"
cmp -s -n "$len" -i "$(npy_data "$T/m12.npy"):$(( $(npy_data "$P") + 6 * len ))" "$T/m12.npy" "$P" \
  || bad "positions of head 1:2 differ from project's"
"$AV" view "$R" --live --method tsne --head 0:1,0:1 2>"$T/e9" >/dev/null
[ $? -eq 2 ] && grep -q "names 0:1 twice" "$T/e9" || bad "a head twice: $(cat "$T/e9")"
"$AV" view "$R" --head 0:1,1:2 2>"$T/e10" >/dev/null
[ $? -eq 2 ] && grep -q "need --live" "$T/e10" || bad "several heads without live: $(cat "$T/e10")"

# UMAP live, 3-D
printf 'live-wait done 300000\nstate %s\nquit\n' "$T/u.json" >"$T/s3.txt"
timeout 600 "$AV" view "$R" --live --method umap --dim 3 --head 0:1 --iters 60 --size 600x450 --device cpu \
  --script "$T/s3.txt" >/dev/null 2>"$T/u.err" || bad "umap live: $(cat "$T/u.err")"
grep -q '"method":"umap","dim":3,"iteration":60,"total":60' "$T/u.json" && grep -q '"done":true' "$T/u.json" || bad "umap state: $(cat "$T/u.json")"
# --device cpu: the live state names the projections' backend; an unknown device is refused
grep -q '"backend":"cpu"' "$T/u.json" || bad "umap state without its backend: $(cat "$T/u.json")"
"$AV" view "$R" --live --method umap --head 0:1 --device tpu 2>"$T/e6" >/dev/null
[ $? -ne 0 ] && [ "$(wc -l <"$T/e6")" -eq 1 ] && grep -q "unknown device 'tpu'" "$T/e6" || bad "bad device: $(cat "$T/e6")"
# quitting mid-run: the worker is joined, exit 0 (leak-free under the sanitizer build)
printf 'live-wait 1\nquit\n' >"$T/s4.txt"
timeout 600 "$AV" view "$R" --live --method umap --head 0:2 --iters 200 --size 400x300 --script "$T/s4.txt" \
  >/dev/null 2>"$T/q.err" || bad "quit mid-run: exit $?: $(cat "$T/q.err")"
# a live-wait that cannot be met in time is a script error naming the line
printf 'live-wait 999999 1\nquit\n' >"$T/s5.txt"
timeout 600 "$AV" view "$R" --live --method umap --head 0:2 --iters 200 --size 400x300 --script "$T/s5.txt" \
  >/dev/null 2>"$T/w.err"
[ $? -eq 2 ] && grep -q "s5.txt:1: the live projection did not reach 999999" "$T/w.err" || bad "live-wait timeout: $(cat "$T/w.err")"
exit $fail
