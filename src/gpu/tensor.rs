//! f32 NCHW tensors living in pooled GPU buffers.

use super::Gpu;
use std::sync::{mpsc, Arc};

struct Storage {
    gpu: Gpu,
    buf: Option<wgpu::Buffer>,
}

impl Drop for Storage {
    fn drop(&mut self) {
        if let Some(b) = self.buf.take() {
            self.gpu.0.pool.lock().unwrap().give_back(b);
        }
    }
}

/// A dense f32 tensor on the GPU. Clones share the buffer (they are views of one value).
#[derive(Clone)]
pub struct Tensor {
    shape: Vec<usize>,
    storage: Arc<Storage>,
}

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tensor{:?}", self.shape)
    }
}

impl Tensor {
    /// Uninitialised contents (a reused buffer holds whatever its last owner wrote).
    pub fn empty(gpu: &Gpu, shape: &[usize]) -> Tensor {
        let n: usize = shape.iter().product();
        let bytes = (n.max(1) * 4) as u64;
        assert!(
            bytes <= gpu.limits().max_buffer_size,
            "tensor {shape:?} ({bytes} bytes) exceeds the device's max buffer size"
        );
        let buf = gpu.0.pool.lock().unwrap().take(&gpu.0.device, bytes);
        Tensor {
            shape: shape.to_vec(),
            storage: Arc::new(Storage {
                gpu: gpu.clone(),
                buf: Some(buf),
            }),
        }
    }

    pub fn zeros(gpu: &Gpu, shape: &[usize]) -> Tensor {
        let t = Tensor::empty(gpu, shape);
        t.fill_zero();
        t
    }

    /// Sets every element to zero (recorded in order with the dispatches).
    pub fn fill_zero(&self) {
        let bytes = (self.numel() * 4) as u64;
        self.gpu()
            .with_encoder(|e| e.clear_buffer(self.buffer(), 0, Some(bytes.max(4).div_ceil(4) * 4)));
    }

    pub fn from_slice(gpu: &Gpu, shape: &[usize], data: &[f32]) -> Tensor {
        let t = Tensor::empty(gpu, shape);
        t.write(data);
        t
    }

    /// Overwrites the contents. Flushes first: `queue.write_buffer` lands before any command
    /// recorded but not yet submitted, and a pooled buffer may still be read by such commands.
    pub fn write(&self, data: &[f32]) {
        assert_eq!(
            data.len(),
            self.numel(),
            "write of {} values into {:?}",
            data.len(),
            self.shape
        );
        let gpu = self.gpu();
        gpu.flush();
        if !data.is_empty() {
            gpu.queue()
                .write_buffer(self.buffer(), 0, bytemuck::cast_slice(data));
        }
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
    pub fn gpu(&self) -> &Gpu {
        &self.storage.gpu
    }
    pub fn buffer(&self) -> &wgpu::Buffer {
        self.storage.buf.as_ref().unwrap()
    }
    /// Whether two tensors share one buffer.
    pub fn same_storage(&self, other: &Tensor) -> bool {
        Arc::ptr_eq(&self.storage, &other.storage)
    }

    /// The same data under another shape of equal element count.
    pub fn reshape(&self, shape: &[usize]) -> Tensor {
        let n: usize = shape.iter().product();
        assert_eq!(n, self.numel(), "reshape {:?} -> {shape:?}", self.shape);
        Tensor {
            shape: shape.to_vec(),
            storage: self.storage.clone(),
        }
    }

    /// Overwrites the contents with `src`'s (same shape), recorded in order with the dispatches.
    pub fn copy_from(&self, src: &Tensor) {
        assert_eq!(self.shape, src.shape, "copy_from: shapes differ");
        let bytes = (self.numel() * 4) as u64;
        if bytes > 0 {
            self.gpu().with_encoder(|e| {
                e.copy_buffer_to_buffer(src.buffer(), 0, self.buffer(), 0, bytes)
            });
        }
    }

    /// A fresh copy in a new buffer.
    pub fn deep_clone(&self) -> Tensor {
        let t = Tensor::empty(self.gpu(), &self.shape);
        let bytes = (self.numel() * 4) as u64;
        if bytes > 0 {
            self.gpu()
                .with_encoder(|e| e.copy_buffer_to_buffer(self.buffer(), 0, t.buffer(), 0, bytes));
        }
        t
    }

    /// Starts copying the contents to the host; the copy is recorded after all work so far.
    pub fn read_async(&self) -> PendingRead {
        let gpu = self.gpu().clone();
        let bytes = (self.numel() * 4) as u64;
        let staging = gpu.device().create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: bytes.max(4),
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        if bytes > 0 {
            gpu.with_encoder(|e| e.copy_buffer_to_buffer(self.buffer(), 0, &staging, 0, bytes));
        }
        gpu.flush();
        let (tx, rx) = mpsc::channel();
        staging.slice(..).map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        PendingRead {
            gpu,
            staging,
            rx,
            len: self.numel(),
        }
    }

    /// Blocking download. Never call this inside a training step except for the loss.
    pub fn to_vec(&self) -> Vec<f32> {
        self.read_async().wait()
    }
}

/// A download in flight; `wait` blocks until the GPU has produced it.
pub struct PendingRead {
    gpu: Gpu,
    staging: wgpu::Buffer,
    rx: mpsc::Receiver<Result<(), wgpu::BufferAsyncError>>,
    len: usize,
}

impl PendingRead {
    pub fn wait(self) -> Vec<f32> {
        let _ = self.gpu.device().poll(wgpu::PollType::wait_indefinitely());
        self.rx
            .recv()
            .expect("map callback dropped")
            .expect("buffer map failed");
        let data = {
            let view = self
                .staging
                .slice(..)
                .get_mapped_range()
                .expect("mapped readback");
            bytemuck::cast_slice::<u8, f32>(&view)[..self.len].to_vec()
        };
        self.staging.unmap();
        data
    }
}
