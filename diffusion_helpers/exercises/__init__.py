"""Checks for the "your turn" cells. Each check calls the student's function on fixed inputs,
compares with the reference, prints what is right or exactly what is wrong (shape, the first
index that differs and by how much, and a hint for the usual mistakes) and returns True/False.
A check never raises: a notebook with an unfinished exercise still runs top to bottom.
"""
from ._core import CHECK_LOG_VARIABLE, compare
from .flow import check_euler_step, check_flow_matching_loss
from .forward import check_alphas_cumprod, check_exponential_schedule, check_q_sample, exponential_betas_reference
from .guidance import check_guidance_choice, check_guided_noise
from .labels import check_label_dropout
from .reverse import check_ddim_step, check_ddpm_step, check_training_loss

__all__ = ["CHECK_LOG_VARIABLE", "compare", "exponential_betas_reference", "check_exponential_schedule",
           "check_alphas_cumprod", "check_q_sample", "check_training_loss", "check_ddpm_step", "check_ddim_step",
           "check_label_dropout", "check_guided_noise", "check_guidance_choice", "check_flow_matching_loss",
           "check_euler_step"]
