"""Constructor arguments of the diffusers models that archsim's graphs follow, as plain data.

The optional cross-check (tests/workloads/test_diffusers_crosscheck.py, extra ``crosscheck``)
builds each model from these on torch's meta device and compares its parameters and block output
shapes with :mod:`workloads.graphs.models`. Nothing here needs torch or network access (the model
repositories' config.json files are not fetched). Each value names its source:

- [LDM] CompVis/stable-diffusion configs/stable-diffusion/v1-inference.yaml (``unet_config``,
  ``first_stage_config``), the SD v1 training/inference configuration;
- [AD1] guoyww/AnimateDiff configs/inference/inference-v1.yaml (``motion_module_kwargs``), the
  configuration of the v1 motion modules (mm_sd_v14/mm_sd_v15);
- [AD2] guoyww/AnimateDiff configs/inference/inference-v2.yaml, the v2 motion modules
  (mm_sd_v15_v2);
- [SGM] Stability-AI/generative-models configs/inference/svd.yaml (``network_config``,
  ``first_stage_config``), SVD's configuration;
- [DF] the diffusers 0.42.1 source: constructor defaults of UNet2DConditionModel
  (models/unets/unet_2d_condition.py), MotionAdapter (models/unets/unet_motion_model.py),
  UNetSpatioTemporalConditionModel (models/unets/unet_spatio_temporal_condition.py),
  AutoencoderKL and AutoencoderKLTemporalDecoder (models/autoencoders/), and the LDM-to-diffusers
  VAE mapping ``create_vae_diffusers_config_from_ldm`` (loaders/single_file_utils.py: ch x ch_mult
  -> block_out_channels, one Down/UpDecoderBlock2D per ch_mult entry);
- [OC] mlfoundations/open_clip src/open_clip/model_configs/ViT-L-14.json and ViT-H-14.json (the
  CLIP towers; ``mlp_ratio`` 4 is open_clip's CLIPVisionCfg/CLIPTextCfg default). LDM's text
  encoder is FrozenCLIPEmbedder(version="openai/clip-vit-large-patch14") (ldm/modules/encoders/
  modules.py); SVD's image encoder FrozenOpenCLIPImageEmbedder(arch="ViT-H-14") (sgm/modules/
  encoders/modules.py). The pipeline (workloads/graphs/pipeline.py) keeps their weights resident.
"""
from __future__ import annotations

__all__ = ["SD15_UNET", "ANIMATEDIFF_V1_MOTION", "SD15_MOTION_UNET", "ANIMATEDIFF_V2_MOTION", "SVD_UNET", "SD_VAE", "SVD_VAE", "SVD_FRAMES",
           "SVD_XT_FRAMES",
           "CLIP_TEXT", "CLIP_IMAGE"]

# UNet2DConditionModel(**SD15_UNET)
SD15_UNET = dict(
    in_channels=4,                                   # [LDM] unet_config.in_channels 4
    out_channels=4,                                  # [LDM] unet_config.out_channels 4
    down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),  # [LDM] attention_resolutions [4, 2, 1]: attention at the first three levels
    up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,       # [LDM] the same levels on the way up
    block_out_channels=(320, 640, 1280, 1280),       # [LDM] model_channels 320 x channel_mult [1, 2, 4, 4]
    layers_per_block=2,                              # [LDM] num_res_blocks 2
    norm_num_groups=32,                              # [DF] default (LDM normalization(): GroupNorm32)
    cross_attention_dim=768,                         # [LDM] context_dim 768 (CLIP ViT-L/14 text)
    attention_head_dim=8,                            # [LDM] num_heads 8 (diffusers' SD1 configs pass the head count under this name)
    transformer_layers_per_block=1,                  # [LDM] transformer_depth 1
    use_linear_projection=False,                     # [LDM] no use_linear_in_transformer: 1x1-conv proj_in/proj_out
)

# MotionAdapter(**ANIMATEDIFF_V1_MOTION); UNetMotionModel(**SD15_MOTION_UNET) is both together.
ANIMATEDIFF_V1_MOTION = dict(
    block_out_channels=(320, 640, 1280, 1280),       # [LDM] the SD1.5 UNet's channels
    motion_layers_per_block=2,                       # [DF] default; [AD1] a module after every down layer (up blocks: layers + 1)
    motion_transformer_layers_per_block=1,           # [AD1] num_transformer_block 1
    motion_num_attention_heads=8,                    # [AD1] num_attention_heads 8
    motion_norm_num_groups=32,                       # [DF] default
    motion_max_seq_length=24,                        # [AD1] temporal_position_encoding_max_len 24 (a buffer, no parameters)
    use_motion_mid_block=False,                      # [AD1] motion_module_mid_block false (v2 adapters: true)
)

# MotionAdapter(**ANIMATEDIFF_V2_MOTION) = MotionAdapter() (the diffusers defaults are v2's): a
# module in the mid block too; archsim's animatediff(mid_motion=True).
ANIMATEDIFF_V2_MOTION = dict(
    ANIMATEDIFF_V1_MOTION,
    motion_max_seq_length=32,                        # [AD2] temporal_position_encoding_max_len 32; [DF] default
    use_motion_mid_block=True,                       # [AD2] motion_module_mid_block true; [DF] default
)

SD15_MOTION_UNET = dict(
    {k: v for k, v in SD15_UNET.items() if k not in ("down_block_types", "up_block_types",
                                                     "attention_head_dim")},
    num_attention_heads=8,                           # [LDM] num_heads 8
    motion_num_attention_heads=ANIMATEDIFF_V1_MOTION["motion_num_attention_heads"],
    motion_max_seq_length=ANIMATEDIFF_V1_MOTION["motion_max_seq_length"],
    use_motion_mid_block=ANIMATEDIFF_V1_MOTION["use_motion_mid_block"],
)

# UNetSpatioTemporalConditionModel(**SVD_UNET): the diffusers defaults are SVD's configuration
# ([DF] unet_spatio_temporal_condition.py __init__), each checked against [SGM].
SVD_UNET = dict(
    in_channels=8,                                   # [SGM] in_channels 8 (noisy latent + conditioning-frame latent)
    out_channels=4,                                  # [SGM] out_channels 4
    down_block_types=("CrossAttnDownBlockSpatioTemporal",) * 3 + ("DownBlockSpatioTemporal",),  # [SGM] attention_resolutions [4, 2, 1]
    up_block_types=("UpBlockSpatioTemporal",) + ("CrossAttnUpBlockSpatioTemporal",) * 3,
    block_out_channels=(320, 640, 1280, 1280),       # [SGM] model_channels 320 x channel_mult [1, 2, 4, 4]
    addition_time_embed_dim=256,                     # [SGM] ConcatTimestepEmbedderND outdim 256 (fps, motion bucket, cond_aug)
    projection_class_embeddings_input_dim=768,       # [SGM] adm_in_channels 768 = 3 x 256
    layers_per_block=2,                              # [SGM] num_res_blocks 2
    cross_attention_dim=1024,                        # [SGM] context_dim 1024 (OpenCLIP ViT-H image embedding)
    transformer_layers_per_block=1,                  # [SGM] transformer_depth 1
    num_attention_heads=(5, 10, 20, 20),             # [SGM] num_head_channels 64: 320/64, 640/64, 1280/64
    num_frames=25,                                   # [DF] default (SVD-XT); does not change the parameters
)
SVD_FRAMES = 14       # stabilityai/stable-video-diffusion-img2vid model card: "trained to generate 14 frames"
SVD_XT_FRAMES = 25    # stabilityai/stable-video-diffusion-img2vid-xt model card: "25 frames"

# AutoencoderKL(**SD_VAE): the diffusers defaults are a one-level toy VAE, so every value is set.
SD_VAE = dict(
    in_channels=3,                                   # [LDM] ddconfig.in_channels 3
    out_channels=3,                                  # [LDM] ddconfig.out_ch 3
    down_block_types=("DownEncoderBlock2D",) * 4,    # [DF] single_file_utils: one per ch_mult entry
    up_block_types=("UpDecoderBlock2D",) * 4,
    block_out_channels=(128, 256, 512, 512),         # [LDM] ch 128 x ch_mult [1, 2, 4, 4]
    layers_per_block=2,                              # [LDM] num_res_blocks 2 (decoder: + 1 per up block)
    latent_channels=4,                               # [LDM] z_channels 4, embed_dim 4
    norm_num_groups=32,                              # [DF] default (LDM Normalize: GroupNorm(32))
)

# AutoencoderKLTemporalDecoder(**SVD_VAE) (the encoder is SD's; the decoder is SGM's VideoDecoder).
SVD_VAE = dict(
    in_channels=3,                                   # [SGM] in_channels 3
    out_channels=3,                                  # [SGM] out_ch 3
    down_block_types=("DownEncoderBlock2D",) * 4,    # [DF] one per ch_mult entry
    block_out_channels=(128, 256, 512, 512),         # [SGM] decoder_config ch 128 x ch_mult [1, 2, 4, 4]
    layers_per_block=2,                              # [SGM] num_res_blocks 2
    latent_channels=4,                               # [SGM] z_channels 4
)

# transformers CLIPTextModel(CLIPTextConfig(**CLIP_TEXT)): SD1.5's / AnimateDiff's text encoder.
CLIP_TEXT = dict(
    hidden_size=768,                                 # [OC] ViT-L-14 text_cfg.width 768
    intermediate_size=4 * 768,                       # [OC] mlp_ratio 4
    num_hidden_layers=12,                            # [OC] text_cfg.layers 12
    num_attention_heads=12,                          # [OC] text_cfg.heads 12
    max_position_embeddings=77,                      # [OC] text_cfg.context_length 77
    vocab_size=49408,                                # [OC] text_cfg.vocab_size 49408
)

# transformers CLIPVisionModelWithProjection(CLIPVisionConfig(**CLIP_IMAGE)): SVD's image encoder.
CLIP_IMAGE = dict(
    hidden_size=1280,                                # [OC] ViT-H-14 vision_cfg.width 1280
    intermediate_size=4 * 1280,                      # [OC] mlp_ratio 4
    num_hidden_layers=32,                            # [OC] vision_cfg.layers 32
    num_attention_heads=1280 // 80,                  # [OC] vision_cfg.head_width 80
    patch_size=14,                                   # [OC] vision_cfg.patch_size 14
    image_size=224,                                  # [OC] vision_cfg.image_size 224
    projection_dim=1024,                             # [OC] embed_dim 1024 (= SVD's cross_attention_dim)
)
