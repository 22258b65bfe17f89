/**
 * Images a workspace can be created from (`GET /workspace/images`, control-plane.md §20):
 * the catalog and the stored images. Read by the create form's image select.
 */
import { api } from './client.js';

export interface ImageResources {
  cpus?: number;
  memory_mb?: number;
  disk_size_mb?: number;
}

export interface ImageItem {
  /** What `POST /workspace` takes as `image` (catalog id or stored image name). */
  id: string;
  image?: string;
  label?: string;
  desc?: string;
  category?: string;
  source?: string;
  built?: boolean;
  status?: string;
  vm_defaults?: ImageResources;
  minimum_resources?: ImageResources;
}

export async function listImages(signal?: AbortSignal): Promise<ImageItem[]> {
  const body = await api<{ images?: ImageItem[] }>('GET', '/workspace/images', { signal });
  return body.images ?? [];
}
