--- tg.cuda: the CUDA device, as torch.cuda. The backend is a separate object
-- (tgrad/cuda_backend.so, built by cuda.mk where nvcc exists) loaded on first use;
-- without it, or without a driver or device, is_available() is false and
-- _unavailable_reason() says why.
return function(tg)
  local cuda = {}
  function cuda.is_available() return tg._cuda_is_available() end
  --- nil when available, else a sentence (module missing / no driver / no device)
  function cuda._unavailable_reason() return tg._cuda_unavailable_reason() end
  function cuda.device_count() return tg._cuda_device_count() end
  function cuda.current_device()
    if not tg._cuda_is_available() then error("CUDA is not available: " .. tg._cuda_unavailable_reason(), 2) end
    return 0
  end
  function cuda.synchronize() tg._cuda_synchronize() end
  function cuda.memory_allocated() return tg._cuda_memory_allocated() end
  function cuda.max_memory_allocated() return tg._cuda_max_memory_allocated() end
  function cuda.memory_reserved() return tg._cuda_memory_reserved() end
  function cuda.empty_cache() tg._cuda_empty_cache() end
  return cuda
end
