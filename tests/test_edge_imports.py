"""The edge install stays small: nothing under edge/ imports TensorFlow, Keras or convert/.

Read two ways: every import statement in edge/'s source (also the lazy ones inside functions), and
what a real process has loaded after importing the daemon, the bench and the CLI and loading the
shipped model.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = ("tensorflow", "keras", "tf_keras", "convert", "fer")


def imported_names(path: Path) -> set[str]:
    """Top-level package of every absolute import in ``path``."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in
              ("import_module", "__import__", "find_spec") and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            names.add(node.args[0].value.split(".")[0])
    return names


def test_no_module_under_edge_imports_tensorflow_or_convert():
    offenders = {str(p.relative_to(ROOT)): sorted(imported_names(p) & set(FORBIDDEN))
                 for p in sorted((ROOT / "edge").rglob("*.py"))}
    assert {p: n for p, n in offenders.items() if n} == {}


def test_no_module_under_edge_puts_the_repository_on_sys_path():
    for p in sorted((ROOT / "edge").rglob("*.py")):
        assert "sys.path.insert" not in p.read_text(encoding="utf-8"), p


def test_daemon_bench_and_cli_load_no_tensorflow_or_convert_at_run_time():
    code = (
        "import json, sys\n"
        "import edge.commands.daemon, edge.commands.bench, edge.commands.bench.timing, edge.commands.bench.compare\n"
        "import edge.commands.bench.report, edge.commands.bench.distance\n"
        "import edge.cli, edge.classify.classifier, edge.commands.watch, edge.commands.demo\n"
        "from edge.classify.interpreter import load_interpreter, runtime_name\n"
        "from edge.paths import default_model\n"
        "load_interpreter(default_model())\n"
        "print(json.dumps({'runtime': runtime_name(), 'modules': sorted(sys.modules)}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    loaded = {m.split(".")[0] for m in out["modules"]}
    assert loaded & set(FORBIDDEN) == set()
    assert out["runtime"] in ("ai-edge-litert", "tflite-runtime")


def test_without_litert_or_tflite_runtime_the_error_says_what_to_install(tmp_path):
    stubs = tmp_path / "blocked"
    for name in ("ai_edge_litert", "tflite_runtime"):
        (stubs / name).mkdir(parents=True)
        (stubs / name / "__init__.py").write_text(f"raise ImportError('{name} is blocked for this test')\n")
    code = (
        "import sys\n"
        "from edge.errors import ModelError\n"
        "from edge.classify.interpreter import load_interpreter\n"
        "from edge.paths import default_model\n"
        "try:\n"
        "    load_interpreter(default_model())\n"
        "except ModelError as exc:\n"
        "    print(exc)\n"
        "print('tensorflow' in sys.modules)\n"
    )
    env = {**os.environ, "PYTHONPATH": f"{stubs}{os.pathsep}{ROOT}"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    message, tf_loaded = result.stdout.strip().splitlines()
    assert message.startswith("no TFLite interpreter is installed")
    assert "pip install ai-edge-litert" in message and "tflite-runtime" in message
    assert tf_loaded == "False"  # even with TensorFlow installed, edge/ does not fall back to it
