#!/usr/bin/env bash
# cli_render.sh - `attnviz render` end to end on the fixture runs: every view comes out
# as a PNG of the requested size; bad input ends with exit 2, ONE line on stderr naming
# the fault, and no picture left behind.
set -u
fail=0
R="$AV_SRC/tests/fixtures/viewer/run_text"
V="$AV_SRC/tests/fixtures/viewer/run_vit"
rm -rf "$AV_TMP" && mkdir -p "$AV_TMP"
T="$AV_TMP"

bad() { echo "FAIL: $*"; fail=1; }
png_size() { od -An -tu1 -j16 -N8 "$1" | awk '{printf "%dx%d", $1*16777216+$2*65536+$3*256+$4, $5*16777216+$6*65536+$7*256+$8}'; }
# expect_fail NAME PATTERN -- command...: exit 2, one stderr line matching PATTERN, no output file
expect_fail() {
  local name=$1 pat=$2; shift 3
  "$@" >"$T/$name.out" 2>"$T/$name.err"
  local rc=$?
  [ $rc -eq 2 ] || bad "$name: exit $rc, want 2"
  [ "$(wc -l <"$T/$name.err")" -eq 1 ] || bad "$name: stderr is not one line: $(cat "$T/$name.err")"
  grep -q -- "$pat" "$T/$name.err" || bad "$name: stderr lacks '$pat': $(cat "$T/$name.err")"
  [ ! -e "$T/$name.png" ] || bad "$name: left a picture behind"
}

for view in matrix single sentence; do
  "$AV" render "$R" --view $view --head 0:0 --item 1 --token 2 --size 640x400 -o "$T/$view.png" || bad "$view: exit $?"
  [ "$(png_size "$T/$view.png")" = 640x400 ] || bad "$view: size $(png_size "$T/$view.png")"
done
"$AV" render "$V" --view image --item 1 --token 5 --size 500x300 -o "$T/image.png" || bad "image view: exit $?"
[ "$(png_size "$T/image.png")" = 500x300 ] || bad "image: size $(png_size "$T/image.png")"
"$AV" render "$V" --view image --arrows --theme dark -o "$T/arrows.png" || bad "arrows: exit $?"
[ "$(png_size "$T/arrows.png")" = 1600x1000 ] || bad "default size: $(png_size "$T/arrows.png")"
"$AV" render "$R" --view single --method pca --dim 3 --color position --size-by-norm -o "$T/pca3.png" --state >"$T/pca3.json" \
  || bad "pca 3-D: exit $?"
grep -q '"method":"pca","dim":3' "$T/pca3.json" || bad "pca 3-D state: $(cat "$T/pca3.json")"
"$AV" render "$R" --view single --head 0:0 --item 1 --token 2 --search cat --state -o "$T/s.png" >"$T/s.json" || bad "state: exit $?"
grep -q '"search_hits":2' "$T/s.json" || bad "search hits: $(cat "$T/s.json")"
grep -q '"lines_drawn":9' "$T/s.json" || bad "attention lines: $(cat "$T/s.json")"
grep -q '"selected_token":11' "$T/s.json" || bad "--item/--token selection: $(cat "$T/s.json")"
"$AV" render "$R" --view sentence --item 2 --hide-special --value-norm -o "$T/vn.png" || bad "value norm: exit $?"
"$AV" render "$R" --lod 100 --state -o "$T/lod.png" >"$T/lod.json" || bad "lod: exit $?"
grep -q '"lod_stride":6' "$T/lod.json" || bad "lod stride (6 heads x 96 points / 100): $(cat "$T/lod.json")"
# --lod N: one frame of N points; without it every point (no subsampling)
"$AV" render "$R" --state -o "$T/all.png" >"$T/all.json" || bad "all points: exit $?"
grep -q '"lod_stride":1,"points_total":576,"points_shown":576,"complete":true' "$T/all.json" || bad "every point: $(cat "$T/all.json")"
# density-aware drawing: the heat map and the exposure; each changes the picture
"$AV" render "$R" --view single --density --state -o "$T/heat.png" >"$T/heat.json" || bad "--density: exit $?"
grep -q '"heat":true,"exposure":1,' "$T/heat.json" || bad "--density state: $(cat "$T/heat.json")"
"$AV" render "$R" --view single --exposure 0.25 --state -o "$T/exp.png" >"$T/exp.json" || bad "--exposure: exit $?"
grep -q '"heat":false,"exposure":0.25,' "$T/exp.json" || bad "--exposure state: $(cat "$T/exp.json")"
"$AV" render "$R" --view single -o "$T/plain.png" || bad "plain single: exit $?"
cmp -s "$T/heat.png" "$T/plain.png" && bad "--density drew the same picture"
cmp -s "$T/exp.png" "$T/plain.png" && bad "--exposure 0.25 drew the same picture"
# both renderers, named in the state
for r in cpu gl; do
  "$AV" render "$R" --renderer $r --state -o "$T/r_$r.png" >"$T/r_$r.json" || bad "--renderer $r: exit $?"
  grep -q "\"renderer\":\"$r\"" "$T/r_$r.json" || bad "--renderer $r state: $(cat "$T/r_$r.json")"
done
# --frames: the figures bench/bench_viewer.sh reads, on one line
out=$("$AV" render "$R" --view single --frames 2 -o "$T/frames.png") || bad "--frames: exit $?"
for k in frame_ms full_ms hover_ms pan_ms detail_ms open_ms full_cpu_ms hover_cpu_ms pan_cpu_ms detail_cpu_ms points renderer gpu_mb gl; do
  echo "$out" | grep -q " $k \|^$k " || bad "--frames output lacks $k: $out"
done
echo "$out" | grep -q " points 96 stride 1 " || bad "--frames: every point: $out"
"$AV" render --help | grep -q -- "--view matrix|single|sentence|image" || bad "--help"
# the help names the file extract writes for --value-norm (v_norm.npy), not another
"$AV" render --help | grep -q -- "--value-norm .*(v_norm.npy" || bad "--help: --value-norm does not name v_norm.npy"

# a projection of some heads only (project --heads): the state says which head is not
# in it (the view then draws a notice with the command that adds it, and matrix cells
# "not projected"; before, a blank canvas that looked like a drawing failure)
cp -r "$R" "$T/some" && "$AV" project "$T/some" --method pca --heads 0:1 --quiet || bad "project --heads: exit $?"
"$AV" render "$T/some" --method pca --view single --head 1:2 --state -o "$T/unproj.png" >"$T/unproj.json" || bad "unprojected head: exit $?"
grep -q '"head_projected":false,"heads_projected":1' "$T/unproj.json" || bad "unprojected head state: $(cat "$T/unproj.json")"
"$AV" render "$T/some" --method pca --view single --head 0:1 --state -o "$T/proj1.png" >"$T/proj1.json" || bad "projected head: exit $?"
grep -q '"head_projected":true' "$T/proj1.json" || bad "projected head state: $(cat "$T/proj1.json")"
"$AV" render "$T/some" --method pca --state -o "$T/some_matrix.png" >"$T/some_matrix.json" || bad "matrix of some heads: exit $?"
grep -q '"heads_projected":1,' "$T/some_matrix.json" || bad "matrix state: $(cat "$T/some_matrix.json")"

# an item longer than the window: selecting its last token scrolls the sentence view to
# it (before, rows past the window could not be reached at all)
"$AV" render "$R" --view sentence --item 1 --token 8 --size 640x220 --state -o "$T/scroll.png" >"$T/scroll.json" || bad "scroll: exit $?"
grep -q '"rows_first":3,"rows_shown":6' "$T/scroll.json" || bad "sentence rows for the last of 9 tokens: $(cat "$T/scroll.json")"
"$AV" render "$R" --view sentence --item 1 --size 640x220 --state -o "$T/noscroll.png" >"$T/noscroll.json" || bad "noscroll: exit $?"
grep -q '"rows_first":0,"rows_shown":6' "$T/noscroll.json" || bad "sentence rows without a selection: $(cat "$T/noscroll.json")"

# continuous colour legends give the ends of the scale in the run's units: the longest
# item in tokens, the longest token in characters (before, "low" and "high")
maxlen=$(grep -o '"item": [0-9]*' "$R/tokens.jsonl" | sort | uniq -c | awk '$1 > m { m = $1 } END { print m }')
"$AV" render "$R" --color itemlen --state -o "$T/itemlen.png" >"$T/itemlen.json" || bad "itemlen: exit $?"
grep -q "\"legend\":\[\"0\",\"$maxlen tokens\",\"\"\]" "$T/itemlen.json" || bad "itemlen legend (longest item $maxlen): $(cat "$T/itemlen.json")"
"$AV" render "$R" --view single --color toklen --state -o "$T/toklen.png" >"$T/toklen.json" || bad "toklen: exit $?"
grep -q '"legend":\["0","[1-9][0-9]* chars",""\]' "$T/toklen.json" || bad "toklen legend: $(cat "$T/toklen.json")"

# a ViT run whose images moved: the image view says so, the rest works
cp -r "$V" "$T/vit_moved" && rm -rf "$T/vit_moved/images"
"$AV" render "$T/vit_moved" --view image --state -o "$T/moved.png" >"$T/moved.json" || bad "moved images: exit $?"
grep -q '"image_error":"image not found: images/img0.png' "$T/moved.json" || bad "moved images state: $(cat "$T/moved.json")"
"$AV" render "$T/vit_moved" --view matrix -o "$T/moved_matrix.png" || bad "moved images, matrix: exit $?"
# a damaged image is named with its fault, the view still draws
cp -r "$V" "$T/vit_damaged" && head -c 60 "$V/images/img0.png" >"$T/vit_damaged/images/img0.png"
"$AV" render "$T/vit_damaged" --view image --state -o "$T/damaged.png" >"$T/damaged.json" || bad "damaged image: exit $?"
grep -q '"image_error":"[^"]*images/img0.png: [^"]*attention still shown"' "$T/damaged.json" || bad "damaged image state: $(cat "$T/damaged.json")"

# a synthetic image set through the vit-tiny fixture: the hue / brightness / frequency /
# angle colour modes, one picture each (they must differ: each colours by its parameter)
"$AV" synth --kind hue,brightness,frequency,angle -n 3 --size 32 --seed 5 -o "$T/syn" 2>/dev/null || bad "synth: exit $?"
"$AV" extract "$AV_SRC/tests/fixtures/models/vit-tiny" "$T/syn" -o "$T/synrun" --quiet --dtype f32 || bad "extract synth: exit $?"
"$AV" project "$T/synrun" --method pca 2>/dev/null || bad "project synth: exit $?"
for m in hue brightness frequency angle; do
  "$AV" render "$T/synrun" --view single --head 0:1 --color $m --size 480x360 --state -o "$T/syn_$m.png" >"$T/syn_$m.json" \
    || bad "synth colour $m: exit $?"
  grep -q "\"color\":\"$m\"" "$T/syn_$m.json" || bad "synth colour $m state: $(cat "$T/syn_$m.json")"
  [ "$(png_size "$T/syn_$m.png")" = 480x360 ] || bad "synth colour $m: size"
done
# the legend names what grey is: the other probe kinds' images have no hue
grep -q '"legend":\["0","360 deg","grey: no hue (other probes)"\]' "$T/syn_hue.json" || bad "hue legend: $(cat "$T/syn_hue.json")"
cmp -s "$T/syn_hue.png" "$T/syn_angle.png" && bad "hue and angle colourings are the same picture"
cmp -s "$T/syn_brightness.png" "$T/syn_frequency.png" && bad "brightness and frequency colourings are the same picture"
expect_fail nosynth "colour mode 'hue' needs a ViT run of an \`attnviz synth\` folder" -- "$AV" render "$V" --color hue -o "$T/nosynth.png"
printf '{"file": 3}\n' >>"$T/syn/params.jsonl"
expect_fail badparams "syn/params.jsonl:13: not a JSON object" -- "$AV" render "$T/synrun" --color hue -o "$T/badparams.png"

# bad input
expect_fail norun "nope: not a run folder" -- "$AV" render "$T/nope" -o "$T/norun.png"
cp -r "$R" "$T/noproj" && rm -rf "$T/noproj/proj"
expect_fail noproj "run \`attnviz project $T/noproj\` first" -- "$AV" render "$T/noproj" -o "$T/noproj.png"
"$AV" render "$T/noproj" --view sentence -o "$T/noproj_sentence.png" || bad "sentence view needs no projection: exit $?"
cp -r "$R" "$T/badshape" && cp "$R/proj/pca-3d.npy" "$T/badshape/proj/tsne-2d.npy"
expect_fail badshape "badshape/proj/tsne-2d.npy: shape \[2,3,96,3\] f32 does not match the run" -- \
  "$AV" render "$T/badshape" -o "$T/badshape.png"
head -c 100 "$R/proj/tsne-2d.npy" >"$T/badshape/proj/tsne-2d.npy"
expect_fail truncated "tsne-2d.npy" -- "$AV" render "$T/badshape" -o "$T/truncated.png"
expect_fail nohead "no head 9:9" -- "$AV" render "$R" --view single --head 9:9 -o "$T/nohead.png"
expect_fail badhead "--head wants LAYER:HEAD" -- "$AV" render "$R" --head x -o "$T/badhead.png"
expect_fail badcolor "unknown colour mode 'pink'" -- "$AV" render "$R" --color pink -o "$T/badcolor.png"
expect_fail textcol "needs a ViT run" -- "$AV" render "$R" --color row -o "$T/textcol.png"
expect_fail noout "missing -o" -- "$AV" render "$R"
expect_fail jpgname "the picture is a PNG; name it FILE.png" -- "$AV" render "$R" -o "$T/jpgname.jpg"
[ ! -e "$T/jpgname.jpg" ] || bad "jpgname: left a .jpg behind"
expect_fail textimage "image view needs a ViT run" -- "$AV" render "$R" --view image -o "$T/textimage.png"
expect_fail nomethod "no projection umap-2d" -- "$AV" render "$R" --method umap --dim 2 -o "$T/nomethod.png"
expect_fail badsize "--size wants WxH" -- "$AV" render "$R" --size 10x10 -o "$T/badsize.png"
expect_fail badexposure "--exposure" -- "$AV" render "$R" --exposure 0 -o "$T/badexposure.png"
expect_fail badrenderer "unknown renderer 'vulkan' (auto, gl, cpu)" -- "$AV" render "$R" --renderer vulkan -o "$T/badrenderer.png"
expect_fail noitem "no item 99" -- "$AV" render "$R" --item 99 -o "$T/noitem.png"
expect_fail nodir "$T/missing/dir/x.png: folder $T/missing/dir does not exist" -- "$AV" render "$R" -o "$T/missing/dir/x.png"
printf '{"text": "a"}\nnot json\n' >"$T/badtokens.jsonl"
cp -r "$R" "$T/badtok" && cp "$T/badtokens.jsonl" "$T/badtok/tokens.jsonl"
expect_fail badtok "badtok/tokens.jsonl:2: not a JSON object" -- "$AV" render "$T/badtok" -o "$T/badtok.png"

exit $fail
