//! Backend choice: wgpu on a real GPU, else the Flex CPU backend with a visible notice.

use std::sync::OnceLock;

use burn::prelude::*;
use serde::{Deserialize, Serialize};

/// What the user asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendChoice {
    /// A hardware GPU through wgpu when one exists, else the CPU.
    #[default]
    Auto,
    /// The Flex CPU backend (bit-reproducible for a seed).
    Cpu,
    /// wgpu; falls back to the CPU with a notice when no adapter can be had.
    Gpu,
}

impl std::str::FromStr for BackendChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(BackendChoice::Auto),
            "cpu" => Ok(BackendChoice::Cpu),
            "gpu" | "wgpu" => Ok(BackendChoice::Gpu),
            _ => Err(format!("unknown backend '{s}' (known: auto, cpu, gpu)")),
        }
    }
}

/// The device a run uses and how it was chosen.
#[derive(Clone, Debug)]
pub struct BackendInfo {
    /// Plain (non-autodiff) device.
    pub device: Device,
    /// e.g. "wgpu (NVIDIA H100, Vulkan)" or "CPU (Flex)".
    pub description: String,
    /// Why the CPU is used when a GPU was wanted, shown to the user.
    pub notice: Option<String>,
    /// True for the Flex CPU backend.
    pub is_cpu: bool,
}

/// The wgpu runtime can be initialised once per process; remember the outcome.
static WGPU: OnceLock<Result<(Device, String), String>> = OnceLock::new();

fn try_wgpu() -> Result<(Device, String), String> {
    WGPU.get_or_init(|| {
        let result = std::panic::catch_unwind(|| Device::wgpu_options().init_with_setup());
        match result {
            Ok(Ok((device, setup))) => {
                let info = setup.adapter.get_info();
                if info.device_type == burn::tensor::wgpu::wgpu::DeviceType::Cpu {
                    Err(format!(
                        "the only wgpu adapter is a software rasteriser ({})",
                        info.name
                    ))
                } else {
                    Ok((device, format!("wgpu ({}, {:?})", info.name, info.backend)))
                }
            }
            Ok(Err(e)) => Err(format!("no wgpu adapter: {e}")),
            Err(_) => Err("wgpu initialisation panicked".into()),
        }
    })
    .clone()
}

/// Picks the device for `choice`. `SER_WORKBENCH_BACKEND=cpu|gpu|auto` overrides `Auto`.
pub fn select(choice: BackendChoice) -> BackendInfo {
    let choice = match (
        choice,
        std::env::var("SER_WORKBENCH_BACKEND")
            .ok()
            .and_then(|v| v.parse().ok()),
    ) {
        (BackendChoice::Auto, Some(env)) => env,
        (c, _) => c,
    };
    let cpu = |notice: Option<String>| BackendInfo {
        device: Device::flex(),
        description: "CPU (Flex)".into(),
        notice,
        is_cpu: true,
    };
    match choice {
        BackendChoice::Cpu => cpu(None),
        BackendChoice::Auto | BackendChoice::Gpu => match try_wgpu() {
            Ok((device, description)) => BackendInfo {
                device,
                description,
                notice: None,
                is_cpu: false,
            },
            Err(why) => cpu(Some(format!(
                "GPU unavailable — training on the CPU ({why})"
            ))),
        },
    }
}
