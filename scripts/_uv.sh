# Sourced by the scripts: makes sure uv is on PATH (installing it with pip when missing).
if ! command -v uv >/dev/null 2>&1; then
  export PATH="$HOME/.local/bin:$PATH"
  command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet --user uv \
    || python3 -m pip install --quiet --user --break-system-packages uv
fi
