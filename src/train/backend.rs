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
    /// wgpu on a hardware GPU; an error when none can be had.
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

/// The `SER_WORKBENCH_BACKEND` override: `None` when unset or empty; an error naming the variable
/// when it holds anything but `auto`, `cpu` or `gpu`.
pub fn env_choice() -> Result<Option<BackendChoice>, String> {
    match std::env::var("SER_WORKBENCH_BACKEND") {
        Ok(v) if v.trim().is_empty() => Ok(None),
        Ok(v) => v
            .trim()
            .parse()
            .map(Some)
            .map_err(|e| format!("SER_WORKBENCH_BACKEND: {e}")),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => {
            Err("SER_WORKBENCH_BACKEND: not valid Unicode (known: auto, cpu, gpu)".into())
        }
    }
}

/// Picks the device for `choice`. `SER_WORKBENCH_BACKEND=cpu|gpu|auto` overrides `Auto`; any
/// other value is an error. `Auto` falls back to the CPU with a visible notice; an explicit
/// `Gpu` without a usable GPU is an error (the user asked for a GPU run).
pub fn select(choice: BackendChoice) -> Result<BackendInfo, String> {
    let choice = match (choice, env_choice()?) {
        (BackendChoice::Auto, Some(env)) => env,
        (c, _) => c,
    };
    let cpu = |notice: Option<String>| BackendInfo {
        device: Device::flex(),
        description: "CPU (Flex)".into(),
        notice,
        is_cpu: true,
    };
    let gpu = |(device, description): (Device, String)| BackendInfo {
        device,
        description,
        notice: None,
        is_cpu: false,
    };
    match choice {
        BackendChoice::Cpu => Ok(cpu(None)),
        BackendChoice::Auto => Ok(match try_wgpu() {
            Ok(d) => gpu(d),
            Err(why) => cpu(Some(format!(
                "GPU unavailable — training on the CPU ({why})"
            ))),
        }),
        BackendChoice::Gpu => try_wgpu()
            .map(gpu)
            .map_err(|why| format!("--backend gpu: no usable GPU ({why}); use --backend auto to fall back to the CPU, or --backend cpu")),
    }
}
