import './telemetry';
import { runConsole } from './bootstrap';

void runConsole();
