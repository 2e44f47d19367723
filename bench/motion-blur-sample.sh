#!/usr/bin/env bash
# Makes samples/pedestrians-motion-blur.mp4: the bundled street scene (a still camera, people
# walking) with the blur a longer exposure gives what moves. Each frame is the mean of seven
# frames around it, 1/80 s apart (ffmpeg's motion-compensated interpolation makes the frames
# in between: 80 fps from the clip's 10), as GoPro's training pairs average frames of a
# high-speed camera. The background stays sharp; frame i's sharp truth is frame i of
# samples/pedestrians.mp4 (28 of its 30 frames: the last two have no frames after them).
#
#   bench/motion-blur-sample.sh [INPUT OUTPUT [FFMPEG INPUT OPTIONS...]]
#
# does the same to any 10 fps clip, e.g. a stretch of OpenCV's vtest.avi (opencv-doc).
set -euo pipefail
cd "$(dirname "$0")/.."
input=${1:-samples/pedestrians.mp4}
output=${2:-samples/pedestrians-motion-blur.mp4}
ffmpeg -v error -y "${@:3}" -i "$input" \
  -vf "minterpolate=fps=80:mi_mode=mci:mc_mode=aobmc:me_mode=bidir:vsbmc=1,tmix=frames=7,select='eq(mod(n\,8)\,3)',setpts=N/10/TB" \
  -r 10 -c:v libx264 -crf 16 -preset slow -pix_fmt yuv420p -movflags +faststart "$output"
