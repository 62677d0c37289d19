"""The quickest seed vision recipe through the CLI, offline, on local images (no fetch)."""
import json

import transferkit
from transferkit.common.cli.parser import main


def test_vgg16_softmax_quick_offline_falls_back_loudly(colour_dir, tmp_path, capsys,
                                                       keras_download_offline):
    # Keras' download fails as it does offline (no socket is opened); the recipe must fall
    # back to random init and say so.
    import shutil

    data = shutil.copytree(colour_dir, tmp_path / "data")
    (data / "red" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    assert main(["recipe", "vgg16-softmax", "--quick", "--out", str(tmp_path / "run"),
                 "--option", f"data={data}", "--option", "size=32"]) == 0
    captured = capsys.readouterr()
    assert keras_download_offline and "vgg16" in keras_download_offline[0]["fname"]
    assert "pretrained weights for vgg16 unavailable, using random init" in captured.err
    assert "--weights PATH" in captured.err and "--weights none" in captured.err
    assert "broken.png" in captured.err  # the skipped file is listed
    figures = json.loads(captured.out[captured.out.index("{"):])
    assert figures["weights"] == "None" and figures["test_n"] == 9
    assert figures["test_accuracy"] > figures["test_majority_baseline"]
    run = transferkit.load(figures["run_dir"])
    assert run.labels == ("blue", "green", "red")
    assert run.config.head.units == (1024,)
