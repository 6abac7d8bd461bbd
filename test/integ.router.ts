// The integration test app, as integ-runner runs it (`integ-runner --directory test --language typescript`).
import { createIntegApp } from './integ/router-integ-app';

createIntegApp().app.synth();
