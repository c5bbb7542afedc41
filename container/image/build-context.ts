/**
 * The build context's `app/` folder, the same for both builds: the compiled runner, the
 * runner's run-time packages at the paths Node will look for them, and a package.json that
 * makes the compiled files ES modules.
 */
import { copyFile, cp, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import type { AgentImageInputs } from './agent-image-inputs.js';

export async function assembleAppDir(appDir: string, inputs: AgentImageInputs): Promise<void> {
  for (const file of inputs.filesForImage) {
    const target = join(appDir, 'dist', 'container', file.relativePath);
    await mkdir(dirname(target), { recursive: true });
    await copyFile(join(inputs.distContainerDir, file.relativePath), target);
  }
  for (const pkg of inputs.packages) {
    const nested = join(pkg.dir, 'node_modules');
    await cp(pkg.dir, join(appDir, pkg.relativeDir), {
      recursive: true,
      dereference: true,
      // A package's own node_modules holds other packages: those in the closure are copied
      // on their own, the rest are not needed at run time.
      filter: (source) => source !== nested && !source.startsWith(nested + sep),
    });
  }
  await writeFile(join(appDir, 'package.json'), inputs.appPackageJson);
}
