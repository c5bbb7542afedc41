/**
 * The build context's `app/` folder, the same for both builds: the compiled runner, the
 * runner's run-time packages at the paths Node will look for them, a package.json that
 * makes the compiled files ES modules, and the entrypoint script (agent-init.sh).
 */
import { copyFile, cp, mkdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join, sep } from 'node:path';
import type { AgentImageInputs } from './agent-image-inputs.js';
import { AGENT_INIT_IN_IMAGE } from './agent-image-layout.js';

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
  await writeFile(join(appDir, basename(AGENT_INIT_IN_IMAGE)), inputs.initScript);
}
