#!/usr/bin/env bash
# Every GPU check and benchmark in one prepared script, for a machine that has a GPU but no
# internet (see benchmarks/README.md), in under 10 minutes:
#   - the NADE speed benchmark and the grid families' sampling / throughput benchmark;
#   - batched posteriors on ALARM (1k, 10k, 100k rows) by numpy against torch on cuda, with
#     the answers checked equal to 1e-10 (bench_batched_device.py);
#   - binarized-MNIST trainings of NADE (H = 500), MADE (two hidden layers of 500, 32-mask
#     ensemble), a gated PixelCNN and a Diagonal BiLSTM, each followed by the test evaluation
#     (test NLL, bits/dim, training and test images/s).
#
#   benchmarks/gpu_all.sh prepare    on the development machine, from the repository root:
#                                    fetch the Python wheels the GPU machine lacks (pyro-ppl,
#                                    pyro-api, graphviz) into .whl/ and copy the MNIST files
#                                    into build/mnist/ (both folders are git-ignored)
#   benchmarks/gpu_all.sh run        on the GPU machine, from the repository root, with .whl
#                                    and build/mnist carried along: install the wheels into
#                                    /tmp/site, run everything on cuda, and leave the
#                                    summaries, the log and a tarball of every output in $OUT
#                                    (default: benchmarks/results/gpu)
#
# Budget (minutes of training, each run also wrapped in `timeout` so the whole command ends
# within 9.5 minutes (the caps add up to 570 s) even if an estimate is off): NADE 1.4, MADE 1.4,
# gated PixelCNN 1.8, Diagonal BiLSTM 1.8, benchmarks about 1.5.  Unpack the tarball into benchmarks/results/ afterwards:
#   tar xzf <files>/gpu_results.tar.gz -C benchmarks/results
set -u -o pipefail

MNIST_SRC=${MNIST_SRC:-../shared/data/mnist}
NADE_MIN=${NADE_MIN:-1.4}
MADE_MIN=${MADE_MIN:-1.4}
PCNN_MIN=${PCNN_MIN:-1.8}
DIAG_MIN=${DIAG_MIN:-1.8}
# for a dry run of the whole path on a machine without a GPU, e.g.
#   DEVICE=cpu EXTRA="--max-train 300 --max-valid 100 --max-test 100 --epochs 1" OUT=/tmp/dry bash benchmarks/gpu_all.sh run
DEVICE=${DEVICE:-cuda}
EXTRA=${EXTRA:-}

prepare() {
    set -e
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
        --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 -d .whl \
        pyro-ppl==1.9.2 pyro-api==0.1.2 graphviz==0.21
    mkdir -p build/mnist
    cp "$MNIST_SRC"/*-ubyte.gz build/mnist/
    ls -la .whl build/mnist
    for p in .whl build/mnist; do git check-ignore -q "$p" || echo "warning: $p is not git-ignored"; done
    echo "prepared; now run on the GPU machine: bash benchmarks/gpu_all.sh run" \
         "(carry: .whl build/mnist)"
}

run() {
    local out=${OUT:-benchmarks/results/gpu}
    local res=/tmp/gpu_results
    rm -rf "$res"; mkdir -p "$out" "$res"
    local log="$out/gpu_all.log"
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl || { echo "wheel install failed" | tee "$log"; exit 1; }
    export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
    export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=4
    {
        date -u
        nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
        python3 -c "import torch, pyro; print('torch', torch.__version__, 'cuda',
torch.version.cuda, 'pyro', pyro.__version__, 'gpu', torch.cuda.is_available()
and torch.cuda.get_device_name(0))"
        timeout 40 python3 benchmarks/bench_nade.py --device "$DEVICE" --skip-naive-sampling \
            --out "$res"
        echo "bench_nade exit $?"
        timeout 40 python3 benchmarks/bench_grid_sampling.py --device "$DEVICE" \
            --naive-steps 28 --out "$res"
        echo "bench_grid_sampling exit $?"
        timeout 30 python3 benchmarks/bench_batched_device.py --rows 1000 10000 100000 \
            --devices numpy "$DEVICE" --reps 3 --out "$res"
        echo "bench_batched_device exit $?"
        timeout 100 python3 benchmarks/mnist_nll.py --family nade --hidden 500 \
            --device "$DEVICE" --time-limit-min "$NADE_MIN" --data-dir build/mnist --out "$res" $EXTRA
        echo "nade exit $?"
        timeout 100 python3 benchmarks/mnist_nll.py --family made --hidden 500 500 \
            --num-masks 32 --device "$DEVICE" --time-limit-min "$MADE_MIN" \
            --data-dir build/mnist --out "$res" $EXTRA
        echo "made exit $?"
        timeout 130 python3 benchmarks/mnist_nll.py --family pixelcnn --gated --hidden 64 \
            --layers 7 --amp --device "$DEVICE" --time-limit-min "$PCNN_MIN" \
            --data-dir build/mnist --out "$res" $EXTRA
        echo "gated pixelcnn exit $?"
        timeout 130 python3 benchmarks/mnist_nll.py --family diagbilstm --hidden 16 \
            --layers 7 --amp --device "$DEVICE" --time-limit-min "$DIAG_MIN" \
            --data-dir build/mnist --out "$res" $EXTRA
        echo "diagbilstm exit $?"
        date -u
    } 2>&1 | tee "$log"
    cp "$log" "$res/"
    cp "$res"/mnist_*_"$DEVICE".txt "$res"/bench_nade*.txt "$res"/bench_grid*.txt \
        "$res"/bench_batched*.txt "$out/" 2>/dev/null
    tar czf "$out/gpu_results.tar.gz" -C "$res" .
    ls -la "$out"
}

case "${1:-}" in
    prepare) prepare ;;
    run) run ;;
    *) echo "usage: $0 prepare|run" >&2; exit 2 ;;
esac
