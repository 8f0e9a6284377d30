"""Models placed with accelerate's device_map (layers spread over devices, here CPU and disk
offload) run the whole LatentSeek loop with the same tokens as the model in one place."""

from latentseek_agents import LatentSeek, LatentSeekConfig, load_model


def test_a_model_split_by_device_map_gives_the_same_run(tmp_path, tiny_model_dir):
    path = tiny_model_dir
    whole = load_model(path, device="cpu")
    split = load_model(path, device_map={"model.embed_tokens": "cpu", "model.layers.0": "cpu",
                                              "model.layers.1": "disk", "model.norm": "cpu",
                                              "model.rotary_emb": "cpu", "lm_head": "cpu"},
                       offload_folder=str(tmp_path / "offload"))
    assert split is not whole and split.model.hf_device_map["model.layers.1"] == "disk"

    def run(lm):
        seeker = LatentSeek(lm, reward=lambda text: 0.0, config=LatentSeekConfig(max_iters=2, lr=0.3, max_new_tokens=16))
        return [a.text for a in seeker.solve("What is 2 + 3?").trace]

    assert run(split) == run(whole)
